"""The app's pages: sign-in and passwords at the top, everything else under /w/<slug>/.

Longer than the house's ~600 lines: one flat table of every page's address, a list per
section; split by section it would be harder to see which address answers what.
"""

from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy

from leadflow.web.views import (
    auth,
    broadcasts,
    chat,
    chat_channels,
    chat_inbox,
    chat_live,
    chat_policy,
    chat_settings,
    companies,
    consent,
    contacts,
    deals,
    deals_products,
    deals_settings,
    duplicates,
    email,
    followups,
    forms,
    home,
    imports,
    inbound,
    knowledge,
    magnets,
    my_leads,
    notifications,
    nurture_bounces,
    nurture_email,
    nurture_offers,
    nurture_pacing,
    nurture_sms,
    nurture_templates,
    page_images,
    pages,
    popups,
    routing,
    scoring,
    scoring_engagement,
    scoring_model,
    segments,
    sequence_steps,
    sequences,
    settings,
    speed,
    suppression,
    tracking,
)

account_patterns = [
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/profile/", notifications.profile, name="profile"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(template_name="web/auth/password_change.html"),
        name="password_change",
    ),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(
            template_name="web/auth/password_change_done.html"
        ),
        name="password_change_done",
    ),
    path(
        "password/reset/",
        auth_views.PasswordResetView.as_view(
            template_name="web/auth/password_reset.html",
            email_template_name="web/auth/password_reset_email.txt",
            subject_template_name="web/auth/password_reset_subject.txt",
        ),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="web/auth/password_reset_sent.html"),
        name="password_reset_done",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="web/auth/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="web/auth/password_reset_confirm.html",
            success_url=reverse_lazy("password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
]

contact_patterns = [
    path("", contacts.contact_list, name="contact_list"),
    path("new/", contacts.contact_create, name="contact_create"),
    path("bulk/", contacts.contact_bulk, name="contact_bulk"),
    path("export.<str:fmt>", contacts.contact_export, name="contact_export"),
    path("views/", contacts.saved_view_save, name="contact_view_save"),
    path("imports/", imports.import_list, name="import_list"),
    path("imports/<int:job_id>/", imports.import_detail, name="import_detail"),
    path("imports/<int:job_id>/preview", imports.import_preview, name="import_preview"),
    path("imports/<int:job_id>/progress", imports.import_progress, name="import_progress"),
    path("imports/<int:job_id>/cancel/", imports.import_cancel, name="import_cancel"),
    path("imports/<int:job_id>/resume/", imports.import_resume, name="import_resume"),
    path("imports/<int:job_id>/errors.csv", imports.import_errors, name="import_errors"),
    path(
        "imports/mappings/<int:mapping_id>/delete/",
        imports.import_mapping_delete,
        name="import_mapping_delete",
    ),
    path("views/<int:view_id>/delete/", contacts.saved_view_delete, name="contact_view_delete"),
    path("<int:contact_id>/", contacts.contact_detail, name="contact_detail"),
    path("<int:contact_id>/edit/", contacts.contact_edit, name="contact_edit"),
    path("<int:contact_id>/status/", contacts.contact_status, name="contact_status"),
    path("<int:contact_id>/tags/", contacts.contact_tags, name="contact_tags"),
    path("<int:contact_id>/consent/", consent.contact_consent, name="contact_consent"),
    path("<int:contact_id>/consent.csv", consent.contact_consent_csv, name="contact_consent_csv"),
    path("consent.csv", consent.consent_export, name="consent_export"),
    path("<int:contact_id>/notes/", contacts.contact_note, name="contact_note"),
    path("<int:contact_id>/email/", email.contact_email, name="contact_email"),
    path(
        "<int:contact_id>/email/preview",
        email.contact_email_preview,
        name="contact_email_preview",
    ),
    path("<int:contact_id>/log/<str:what>/", followups.contact_log, name="contact_log"),
    path("<int:contact_id>/followups/", followups.followup_panel, name="followup_panel"),
    path("<int:contact_id>/followups/add/", followups.followup_add, name="followup_add"),
    path("<int:contact_id>/merge/", contacts.contact_merge, name="contact_merge"),
    path("<int:contact_id>/reassign/", routing.contact_reassign, name="contact_reassign"),
    path("reassign/", contacts.contacts_reassign, name="contacts_reassign"),
    path("<int:contact_id>/delete/", contacts.contact_delete, name="contact_delete"),
    path("<int:contact_id>/convert-to-deal/", deals.lead_convert, name="contact_convert_to_deal"),
]

company_patterns = [
    path("", companies.company_list, name="company_list"),
    path("new/", companies.company_create, name="company_create"),
    path("<int:company_id>/", companies.company_detail, name="company_detail"),
    path("<int:company_id>/edit/", companies.company_edit, name="company_edit"),
    path("<int:company_id>/delete/", companies.company_delete, name="company_delete"),
]

offer_patterns = [
    path("", nurture_offers.offer_index, name="offer_index"),
    path("new/", nurture_offers.offer_new, name="offer_new"),
    path("<int:offer_id>/", nurture_offers.offer_detail, name="offer_detail"),
    path("<int:offer_id>/codes/", nurture_offers.offer_codes, name="offer_codes"),
]

marketing_template_patterns = [
    path("", nurture_templates.template_list, name="marketing_template_list"),
    path("contacts/", nurture_templates.template_contacts, name="marketing_template_contacts"),
    path("<int:template_id>/", nurture_templates.template_edit, name="marketing_template_edit"),
    path(
        "<int:template_id>/preview/",
        nurture_templates.template_draft_preview,
        name="marketing_template_preview",
    ),
    path(
        "<int:template_id>/test/",
        nurture_templates.template_test_send,
        name="marketing_template_test",
    ),
]

magnet_patterns = [
    path("", magnets.magnet_list, name="magnet_list"),
    path("new/", magnets.magnet_new, name="magnet_new"),
    path("<int:magnet_id>/", magnets.magnet_detail, name="magnet_detail"),
    path("<int:magnet_id>/codes/", magnets.magnet_codes, name="magnet_codes"),
    path(
        "<int:magnet_id>/seats/<int:contact_id>/release/",
        magnets.magnet_seat_release,
        name="magnet_seat_release",
    ),
]
chat_patterns = [
    path("", chat.flow_list, name="chat_flow_list"),
    path("new/", chat.flow_edit, name="chat_flow_create"),
    path("<int:flow_id>/", chat.flow_edit, name="chat_flow_edit"),
    path("<int:flow_id>/publish/", chat.flow_publish, name="chat_flow_publish"),
    path("conversations/", chat.conversation_list, name="chat_conversation_list"),
    path(
        "conversations/<int:conversation_id>/",
        chat.conversation_detail,
        name="chat_conversation_detail",
    ),
    path("inbox/", chat_inbox.inbox, name="chat_inbox"),
    path("inbox/presence/", chat_inbox.inbox_presence, name="chat_inbox_presence"),
    path("inbox/<int:conversation_id>/", chat_inbox.inbox_detail, name="chat_inbox_detail"),
    path("inbox/<int:conversation_id>/thread/", chat_inbox.inbox_thread, name="chat_inbox_thread"),
    path("inbox/<int:conversation_id>/reply/", chat_inbox.inbox_reply, name="chat_inbox_reply"),
    path("inbox/<int:conversation_id>/claim/", chat_inbox.inbox_claim, name="chat_inbox_claim"),
    path("inbox/<int:conversation_id>/close/", chat_inbox.inbox_close, name="chat_inbox_close"),
    path("inbox/<int:conversation_id>/return/", chat_inbox.inbox_return, name="chat_inbox_return"),
    path(
        "inbox/<int:conversation_id>/transcript/",
        chat_inbox.inbox_transcript,
        name="chat_inbox_transcript",
    ),
    path("canned/", chat_inbox.canned_list, name="chat_canned_list"),
    path("canned/<int:reply_id>/", chat_inbox.canned_list, name="chat_canned_edit"),
    path(
        "conversations/<int:conversation_id>/stream/",
        chat_live.conversation_stream,
        name="chat_conversation_stream",
    ),
    path(
        "conversations/<int:conversation_id>/typing/",
        chat_live.conversation_typing,
        name="chat_conversation_typing",
    ),
]
popup_patterns = [
    path("", popups.popup_list, name="popup_list"),
    path("new/", popups.popup_edit, name="popup_create"),
    path("<int:popup_id>/", popups.popup_edit, name="popup_edit"),
    path("<int:popup_id>/delete/", popups.popup_delete, name="popup_delete"),
]

form_patterns = [
    path("", forms.form_list, name="form_list"),
    path("new/", forms.form_create, name="form_create"),
    path("<int:form_id>/", forms.form_builder, name="form_builder"),
    path("<int:form_id>/preview", forms.form_preview, name="form_preview"),
    path("<int:form_id>/delete/", forms.form_delete, name="form_delete"),
    path("<int:form_id>/submissions/", forms.submission_list, name="form_submissions"),
    path(
        "<int:form_id>/submissions/export.csv",
        forms.submission_export,
        name="form_submissions_export",
    ),
    path(
        "<int:form_id>/submissions/<int:submission_id>/",
        forms.submission_detail,
        name="form_submission_detail",
    ),
    path(
        "<int:form_id>/submissions/<int:submission_id>/release",
        forms.submission_release,
        name="form_submission_release",
    ),
]

settings_patterns = [
    path("", settings.settings_workspace, name="settings_workspace"),
    path("pacing/", nurture_pacing.pacing_settings, name="nurture_pacing"),
    path("chat-policy/", chat_policy.chat_policy_page, name="chat_policy"),
    path("chat-widget/", chat_settings.chat_widget_settings, name="settings_chat_widget"),
    path("sms/", nurture_sms.sms_settings, name="nurture_sms"),
    path("chat-channels/", chat_channels.channel_list, name="chat_channel_list"),
    path("chat-channels/new/", chat_channels.channel_edit, name="chat_channel_create"),
    path("chat-channels/<int:channel_id>/", chat_channels.channel_edit, name="chat_channel_edit"),
    path(
        "chat-channels/<int:channel_id>/delete/",
        chat_channels.channel_remove,
        name="chat_channel_delete",
    ),
    path(
        "chat-channels/<int:channel_id>/webhook/",
        chat_channels.channel_webhook,
        name="chat_channel_webhook",
    ),
    path("bounces/", nurture_bounces.bounce_settings, name="nurture_bounces"),
    path("members/", settings.settings_members, name="settings_members"),
    path(
        "members/<int:membership_id>/role/",
        settings.settings_member_role,
        name="settings_member_role",
    ),
    path(
        "members/<int:membership_id>/remove/",
        settings.settings_member_remove,
        name="settings_member_remove",
    ),
    path("api-keys/", settings.settings_api_keys, name="settings_api_keys"),
    path(
        "api-keys/<int:key_id>/revoke/",
        settings.settings_api_key_revoke,
        name="settings_api_key_revoke",
    ),
    path("fields/", settings.settings_fields, name="settings_fields"),
    path("fields/<int:field_id>/", settings.settings_field_edit, name="settings_field_edit"),
    path(
        "fields/<int:field_id>/delete/",
        settings.settings_field_delete,
        name="settings_field_delete",
    ),
    path("tracking/", settings.settings_tracking, name="settings_tracking"),
    path(
        "tracking/rules/",
        settings.settings_channel_rule_create,
        name="settings_channel_rule_create",
    ),
    path(
        "tracking/rules/<int:rule_id>/",
        settings.settings_channel_rule_edit,
        name="settings_channel_rule_edit",
    ),
    path(
        "tracking/rules/<int:rule_id>/delete/",
        settings.settings_channel_rule_delete,
        name="settings_channel_rule_delete",
    ),
    path("audit/", settings.audit_log, name="audit_log"),
    path("email-templates/", email.email_templates, name="settings_email_templates"),
    path("suppression/", suppression.suppression_list, name="settings_suppression"),
    path(
        "suppression/import/",
        suppression.suppression_import,
        name="settings_suppression_import",
    ),
    path(
        "suppression/<int:suppression_id>/remove/",
        suppression.suppression_remove,
        name="settings_suppression_remove",
    ),
    path("topics/", suppression.topic_list, name="settings_topics"),
    path("consent/", consent.settings_consent, name="settings_consent"),
    path(
        "consent/<slug:key>/rename/",
        consent.settings_consent_rename,
        name="settings_consent_rename",
    ),
    path("topics/<int:topic_id>/", suppression.topic_edit, name="settings_topic_edit"),
    path("topics/<int:topic_id>/delete/", suppression.topic_delete, name="settings_topic_delete"),
    path("marketing-email/", nurture_email.marketing_email, name="settings_marketing_email"),
    path(
        "email-templates/<int:template_id>/",
        email.email_template_edit,
        name="settings_email_template_edit",
    ),
    path(
        "email-templates/<int:template_id>/delete/",
        email.email_template_delete,
        name="settings_email_template_delete",
    ),
    path(
        "scoring/engagement/",
        scoring_engagement.engagement_settings,
        name="scoring_engagement",
    ),
    path(
        "scoring/engagement/rules/new/",
        scoring_engagement.engagement_rule_create,
        name="scoring_engagement_rule_create",
    ),
    path(
        "scoring/engagement/rules/<int:rule_id>/",
        scoring_engagement.engagement_rule_edit,
        name="scoring_engagement_rule",
    ),
    path(
        "scoring/engagement/rules/<int:rule_id>/toggle/",
        scoring_engagement.engagement_rule_toggle,
        name="scoring_engagement_rule_toggle",
    ),
    path(
        "scoring/engagement/rules/<int:rule_id>/delete/",
        scoring_engagement.engagement_rule_delete,
        name="scoring_engagement_rule_delete",
    ),
    path(
        "scoring/engagement/preview/",
        scoring_engagement.engagement_preview,
        name="scoring_engagement_preview",
    ),
    path("scoring/model/", scoring_model.scoring_model, name="scoring_model"),
    path("scoring/model/train/", scoring_model.scoring_model_train, name="scoring_model_train"),
    path(
        "scoring/model/<int:model_id>/force/",
        scoring_model.scoring_model_force,
        name="scoring_model_force",
    ),
    path("deals/", deals_settings.deal_settings, name="deal_settings"),
    path("products/", deals_products.product_list, name="deal_products"),
    path("products/payments/", deals_products.payment_settings, name="deal_payment_settings"),
    path("products/<int:product_id>/", deals_products.product_edit, name="deal_product"),
    path(
        "products/<int:product_id>/archive/",
        deals_products.product_archive,
        name="deal_product_archive",
    ),
    path(
        "deals/pipelines/",
        deals_settings.pipeline_create,
        name="deal_settings_pipeline_create",
    ),
    path(
        "deals/pipelines/<int:pipeline_id>/",
        deals_settings.pipeline_detail,
        name="deal_settings_pipeline",
    ),
    path(
        "deals/pipelines/<int:pipeline_id>/move/",
        deals_settings.pipeline_move,
        name="deal_settings_pipeline_move",
    ),
    path(
        "deals/pipelines/<int:pipeline_id>/delete/",
        deals_settings.pipeline_delete,
        name="deal_settings_pipeline_delete",
    ),
    path(
        "deals/pipelines/<int:pipeline_id>/stages/",
        deals_settings.stage_create,
        name="deal_settings_stage_create",
    ),
    path("deals/stages/<int:stage_id>/", deals_settings.stage_edit, name="deal_settings_stage"),
    path(
        "deals/stages/<int:stage_id>/move/",
        deals_settings.stage_move,
        name="deal_settings_stage_move",
    ),
    path(
        "deals/stages/<int:stage_id>/delete/",
        deals_settings.stage_delete,
        name="deal_settings_stage_delete",
    ),
    path("routing/", routing.routing_settings, name="routing_settings"),
    path("routing/teams/", routing.team_create, name="routing_team_create"),
    path("routing/teams/<int:team_id>/", routing.team_detail, name="routing_team"),
    path("routing/teams/<int:team_id>/delete/", routing.team_delete, name="routing_team_delete"),
    path(
        "routing/teams/<int:team_id>/members/",
        routing.team_member_add,
        name="routing_team_member_add",
    ),
    path(
        "routing/members/<int:team_member_id>/",
        routing.team_member_edit,
        name="routing_team_member",
    ),
    path(
        "routing/members/<int:team_member_id>/remove/",
        routing.team_member_remove,
        name="routing_team_member_remove",
    ),
    path("routing/rules/new/", routing.rule_edit, name="routing_rule_create"),
    path("routing/rules/<int:rule_id>/", routing.rule_edit, name="routing_rule"),
    path("routing/rules/<int:rule_id>/toggle/", routing.rule_toggle, name="routing_rule_toggle"),
    path("routing/rules/<int:rule_id>/move/", routing.rule_move, name="routing_rule_move"),
    path("routing/rules/<int:rule_id>/delete/", routing.rule_delete, name="routing_rule_delete"),
    path("scoring/profile/", scoring.scoring_profile, name="scoring_profile"),
    path("scoring/fit-rules/new/", scoring.fit_rule_create, name="fit_rule_create"),
    path("scoring/fit-rules/<int:rule_id>/", scoring.fit_rule_edit, name="fit_rule_edit"),
    path(
        "scoring/fit-rules/<int:rule_id>/delete/",
        scoring.fit_rule_delete,
        name="fit_rule_delete",
    ),
    path("scoring/mql-rule/", scoring.mql_rule_save, name="mql_rule_save"),
    path("lead-sources/", inbound.lead_source_list, name="settings_lead_sources"),
    path("lead-sources/<int:source_id>/", inbound.lead_source_detail, name="settings_lead_source"),
    path(
        "lead-sources/<int:source_id>/rotate-secret/",
        inbound.lead_source_rotate,
        name="settings_lead_source_rotate",
    ),
    path(
        "lead-sources/<int:source_id>/delete/",
        inbound.lead_source_delete,
        name="settings_lead_source_delete",
    ),
    path(
        "lead-sources/<int:source_id>/deliveries/",
        inbound.lead_source_deliveries,
        name="settings_lead_source_deliveries",
    ),
    path(
        "lead-sources/<int:source_id>/deliveries/<int:delivery_id>/",
        inbound.lead_source_delivery,
        name="settings_lead_source_delivery",
    ),
    path(
        "lead-sources/<int:source_id>/deliveries/<int:delivery_id>/replay/",
        inbound.lead_source_delivery_replay,
        name="settings_lead_source_delivery_replay",
    ),
]

visitor_patterns = [
    path("", tracking.visitor_list, name="visitor_list"),
    path("<int:visitor_id>/", tracking.visitor_detail, name="visitor_detail"),
]

duplicate_patterns = [
    path("", duplicates.duplicate_list, name="duplicate_list"),
    path("scan/", duplicates.duplicate_scan, name="duplicate_scan"),
    path("merge-above/", duplicates.duplicate_merge_above, name="duplicate_merge_above"),
    path("settings/", duplicates.duplicate_settings, name="duplicate_settings"),
    path("<int:pair_id>/", duplicates.duplicate_compare, name="duplicate_compare"),
    path("<int:pair_id>/merge/", duplicates.duplicate_merge, name="duplicate_merge"),
    path("<int:pair_id>/dismiss/", duplicates.duplicate_dismiss, name="duplicate_dismiss"),
]

segment_patterns = [
    path("", segments.segment_list, name="segment_list"),
    path("new/", segments.segment_edit, name="segment_create"),
    path("count/", segments.segment_count, name="segment_count"),
    path("add-selected/", segments.segment_bulk_add, name="segment_bulk_add"),
    path("<int:segment_id>/", segments.segment_members, name="segment_members"),
    path("<int:segment_id>/edit/", segments.segment_edit, name="segment_edit"),
    path("<int:segment_id>/delete/", segments.segment_delete, name="segment_delete"),
    path("<int:segment_id>/add/", segments.segment_members_add, name="segment_members_add"),
    path(
        "<int:segment_id>/remove/", segments.segment_members_remove, name="segment_members_remove"
    ),
]

sequence_patterns = [
    path("", sequences.sequence_list, name="sequence_list"),
    path("new/", sequences.sequence_edit, name="sequence_create"),
    path("enrol-selected/", sequences.sequence_bulk_enroll, name="sequence_bulk_enroll"),
    path("<int:sequence_id>/", sequences.sequence_detail, name="sequence_detail"),
    path("<int:sequence_id>/settings/", sequences.sequence_edit, name="sequence_edit"),
    path("<int:sequence_id>/status/", sequences.sequence_status, name="sequence_status"),
    path("<int:sequence_id>/enrol/", sequences.sequence_enroll, name="sequence_enroll"),
    path("<int:sequence_id>/delete/", sequences.sequence_delete, name="sequence_delete"),
    path("<int:sequence_id>/steps/new/", sequence_steps.step_new, name="sequence_step_new"),
    path(
        "<int:sequence_id>/steps/<int:step_id>/",
        sequence_steps.step_edit,
        name="sequence_step_edit",
    ),
    path(
        "<int:sequence_id>/steps/<int:step_id>/delete/",
        sequence_steps.step_delete,
        name="sequence_step_delete",
    ),
    path(
        "<int:sequence_id>/enrolments/",
        sequence_steps.enrollment_list,
        name="sequence_enrollments",
    ),
    path(
        "<int:sequence_id>/enrolments/<int:enrollment_id>/remove/",
        sequence_steps.enrollment_remove,
        name="sequence_enrollment_remove",
    ),
]

broadcast_patterns = [
    path("", broadcasts.broadcast_list, name="broadcast_list"),
    path("new/", broadcasts.broadcast_edit, name="broadcast_create"),
    path("<int:broadcast_id>/", broadcasts.broadcast_detail, name="broadcast_detail"),
    path("<int:broadcast_id>/edit/", broadcasts.broadcast_edit, name="broadcast_edit"),
    path("<int:broadcast_id>/schedule/", broadcasts.broadcast_schedule, name="broadcast_schedule"),
    path("<int:broadcast_id>/cancel/", broadcasts.broadcast_cancel, name="broadcast_cancel"),
]

deal_patterns = [
    path("", deals.deal_list, name="deal_list"),
    path("board/", deals.deal_board, name="deal_board"),
    path("forecast/", deals.deal_forecast, name="deal_forecast"),
    path("new/", deals.deal_create, name="deal_create"),
    path("<int:deal_id>/", deals.deal_detail, name="deal_detail"),
    path("<int:deal_id>/edit/", deals.deal_edit, name="deal_edit"),
    path("<int:deal_id>/move/", deals.deal_move, name="deal_move"),
    path("<int:deal_id>/win/", deals.deal_outcome, {"outcome": "win"}, name="deal_win"),
    path("<int:deal_id>/lose/", deals.deal_outcome, {"outcome": "lose"}, name="deal_lose"),
    path("<int:deal_id>/reopen/", deals.deal_outcome, {"outcome": "reopen"}, name="deal_reopen"),
    path("<int:deal_id>/delete/", deals.deal_delete, name="deal_delete"),
]

page_patterns = [
    path("", pages.page_list, name="page_list"),
    path("brand/", pages.brand_save, name="page_brand"),
    path("images/", page_images.image_library, name="page_images"),
    path("images/<int:image_id>/", page_images.image_save, name="page_image_save"),
    path("images/<int:image_id>/delete/", page_images.image_delete, name="page_image_delete"),
    path("<int:page_id>/", pages.page_editor, name="page_editor"),
    path("<int:page_id>/settings/", pages.page_settings, name="page_settings"),
    path("<int:page_id>/variants/<int:variant_id>/", pages.variant_save, name="page_variant_save"),
    path(
        "<int:page_id>/variants/<int:variant_id>/preview",
        pages.variant_preview,
        name="page_variant_preview",
    ),
    path("<int:page_id>/<str:action>/", pages.page_action, name="page_action"),
]

knowledge_patterns = [
    path("", knowledge.knowledge_list, name="knowledge_list"),
    path("new/", knowledge.knowledge_new, name="knowledge_new"),
    path("unanswered/", knowledge.knowledge_unanswered, name="knowledge_unanswered"),
    path(
        "unanswered/<int:unanswered_id>/dismiss/",
        knowledge.knowledge_unanswered_dismiss,
        name="knowledge_unanswered_dismiss",
    ),
    path("<int:entry_id>/", knowledge.knowledge_detail, name="knowledge_detail"),
    path("<int:entry_id>/delete/", knowledge.knowledge_delete, name="knowledge_delete"),
]

workspace_patterns = [
    path("", home.workspace_home, name="workspace_home"),
    path("home/checklist/dismiss/", home.home_checklist_dismiss, name="home_checklist_dismiss"),
    path("contacts/", include(contact_patterns)),
    path("companies/", include(company_patterns)),
    path("forms/", include(form_patterns)),
    path("pages/", include(page_patterns)),
    path("popups/", include(popup_patterns)),
    path("chat/", include(chat_patterns)),
    path("offers/", include(offer_patterns)),
    path("magnets/", include(magnet_patterns)),
    path("chat/knowledge/", include(knowledge_patterns)),
    path("marketing-templates/", include(marketing_template_patterns)),
    path("duplicates/", include(duplicate_patterns)),
    path("deals/", include(deal_patterns)),
    path("segments/", include(segment_patterns)),
    path("sequences/", include(sequence_patterns)),
    path("broadcasts/", include(broadcast_patterns)),
    path("mql/", scoring.mql_queue, name="mql_queue"),
    path("mql/<int:contact_id>/accept/", scoring.mql_accept, name="mql_accept"),
    path("mql/<int:contact_id>/reject/", scoring.mql_reject, name="mql_reject"),
    path("my-leads/", my_leads.my_leads, name="my_leads"),
    path("my-leads/poll/", my_leads.my_leads_poll, name="my_leads_poll"),
    path("my-leads/<int:contact_id>/", my_leads.my_lead_panel, name="my_lead_panel"),
    path(
        "my-leads/<int:contact_id>/<str:action>/",
        my_leads.my_lead_action,
        name="my_leads_action",
    ),
    path("queue/", routing.team_queue, name="team_queue"),
    path("queue/<int:contact_id>/claim/", routing.queue_claim, name="queue_claim"),
    path("visitors/", include(visitor_patterns)),
    path("followups/", followups.followup_list, name="followup_list"),
    path(
        "followups/<int:followup_id>/complete/",
        followups.followup_complete,
        name="followup_complete",
    ),
    path("followups/<int:followup_id>/reopen/", followups.followup_reopen, name="followup_reopen"),
    path("followups/<int:followup_id>/delete/", followups.followup_delete, name="followup_delete"),
    path("followups/<int:followup_id>/edit/", followups.followup_edit, name="followup_edit"),
    path(
        "followups/<int:followup_id>/reschedule/",
        followups.followup_reschedule,
        name="followup_reschedule",
    ),
    path("notifications/", notifications.notification_list, name="notification_list"),
    path("notifications/bell/", notifications.notification_bell, name="notification_bell"),
    path(
        "notifications/read-all/",
        notifications.notification_read_all,
        name="notification_read_all",
    ),
    path(
        "notifications/<int:notification_id>/open/",
        notifications.notification_open,
        name="notification_open",
    ),
    path(
        "notifications/<int:notification_id>/read/",
        notifications.notification_read,
        name="notification_read",
    ),
    path("reports/sources/", tracking.report_sources, name="report_sources"),
    path("reports/speed-to-lead/", speed.report_speed_to_lead, name="report_speed_to_lead"),
    path("settings/", include(settings_patterns)),
]

urlpatterns = [
    path("", auth.home, name="home"),
    *account_patterns,
    path("w/<slug:workspace_slug>/", include(workspace_patterns)),
]
