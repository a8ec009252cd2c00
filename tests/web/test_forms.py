"""Forms in the app: list, new form, builder (fields, settings, preview, embed), deletion,
submissions (accepted, spam, one submission, CSV), tenancy, roles and the timeline."""

import csv
import html
import io
import json

import pytest
from django.core.cache import cache

from leadflow.capture import services
from leadflow.capture.models import ConsentRecord, Form, Submission
from tests.capture.conftest import CONSENT_TEXT, PublicClient, good_fields, lead_form_fields
from tests.web.conftest import url


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def other_form(other_workspace):
    from leadflow.core.actors import Actor
    from leadflow.core.models import Membership

    owner = Membership.objects.get(workspace=other_workspace).user
    return services.form_create(
        workspace=other_workspace,
        actor=Actor.for_user(owner),
        data={
            "name": "Other newsletter",
            "fields": [{"name": "email", "type": "email", "maps_to": "email", "required": True}],
        },
    )


def forms_url(workspace, path: str = "") -> str:
    return url(workspace, f"forms/{path}")


def page_text(response) -> str:
    return response.content.decode()


def settings_post(form: Form, **changes) -> dict:
    """The builder's settings inputs as a browser posts them, for ``form``."""
    data = {
        "name": form.name,
        "submit_label": form.submit_label,
        "success_mode": "redirect" if form.redirect_url else "message",
        "success_message": form.success_message,
        "redirect_url": form.redirect_url,
        "tags": ", ".join(form.tags),
        "lifecycle_stage": form.lifecycle_stage,
        "source_label": form.source_label,
        "allowed_origins": "\n".join(form.allowed_origins),
        "min_fill_seconds": str(form.min_fill_seconds),
        "status": form.status,
        "fields": json.dumps(form.fields),
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


# --- list and new -----------------------------------------------------------------------------


def test_empty_list_explains_what_a_form_is(owner_client, workspace, client_for):
    response = owner_client.get(forms_url(workspace))
    assert response.status_code == 200
    text = page_text(response)
    assert "No forms yet" in text and "each submission creates or updates a contact" in text
    assert forms_url(workspace, "new/") in text
    assert 'aria-current="page">' in text and ">Forms</a>" in text
    viewer, _ = client_for("viewer")
    assert forms_url(workspace, "new/") not in page_text(viewer.get(forms_url(workspace)))


def test_list_shows_counts_per_form_with_a_fixed_query_count(
    owner_client, workspace, owner_actor, lead_form, django_assert_max_num_queries
):
    public = PublicClient(lead_form)
    for index in range(3):
        public.submit(good_fields(email=f"lead{index}@initech.com"))
    public.submit(good_fields(email="bot@initech.com", _lf_hp="gotcha"))
    for index in range(6):
        services.form_create(
            workspace=workspace,
            actor=owner_actor,
            data={
                "name": f"Form {index}",
                "fields": [{"name": "email", "type": "email", "maps_to": "email"}],
            },
        )
    # session, user, membership, the forms, their counts (one grouped query), their views
    # (one grouped query over tracked events), the switcher.
    with django_assert_max_num_queries(7):
        response = owner_client.get(forms_url(workspace))
    rows = response.context["rows"]
    assert len(rows) == 7
    demo = next(row for row in rows if row["form"].pk == lead_form.pk)
    assert (demo["stats"].submissions, demo["stats"].spam) == (3, 1)
    assert demo["stats"].per_day_7d == pytest.approx(0.4)
    text = page_text(response)
    assert "Book a demo" in text and "Per day (7 days)" in text
    assert "3 submissions to Book a demo" in text and "1 spam submissions to Book a demo" in text


def test_create_starts_with_email_name_and_consent(owner_client, workspace):
    bad = owner_client.post(forms_url(workspace, "new/"), {"name": "  "})
    assert bad.status_code == 422
    assert 'id="id_name_error"' in page_text(bad)
    too_long = owner_client.post(forms_url(workspace, "new/"), {"name": "x" * 201})
    assert too_long.status_code == 422 and "At most 200 characters." in page_text(too_long)
    response = owner_client.post(forms_url(workspace, "new/"), {"name": "Newsletter"})
    form = Form.objects.get(workspace=workspace)
    assert response["Location"] == forms_url(workspace, f"{form.pk}/")
    assert [(f["name"], f["type"], f["required"]) for f in form.fields] == [
        ("email", "email", True),
        ("first_name", "text", False),
        ("consent", "consent", False),
    ]
    assert form.fields[0]["maps_to"] == "email"
    assert "Acme Widgets may email me" in form.fields[2]["consent_text"]


# --- builder ----------------------------------------------------------------------------------


def test_builder_shows_rows_preview_and_embed_snippets(owner_client, workspace, lead_form):
    response = owner_client.get(forms_url(workspace, f"{lead_form.pk}/"))
    assert response.status_code == 200
    text = page_text(response)
    rows = response.context["rows"]
    assert [row.values["name"] for row in rows] == [f["name"] for f in lead_form.fields]
    assert 'data-prop="options"' in text and "Demo\nPricing\nSupport" in text
    assert '<option value="custom_fields.team_size" selected>Team size</option>' in text
    # The preview is the public form page, escaped into the iframe's srcdoc attribute.
    assert 'sandbox="allow-same-origin"' in text
    assert 'srcdoc="&lt;!doctype html&gt;' in text
    assert "&lt;select id=&quot;lf-interest&quot;" in text
    embed = response.context["embed"]
    key = lead_form.key
    assert embed["script"] == (
        f'<script src="http://testserver/static/leadflow/form.js" data-form="{key}" async></script>'
    )
    assert embed["iframe"].startswith(f'<iframe src="http://testserver/f/{key}?embed=1"')
    assert f'<form method="post" action="http://testserver/f/{key}">' in embed["html"]
    for definition in lead_form.fields:
        assert f'name="{definition["name"]}"' in embed["html"]
    assert 'name="_lf_hp"' in embed["html"] and "left:-10000px" in embed["html"]
    # Shown as text inside the page, never as live markup.
    assert html.escape(embed["script"], quote=True) in text


def test_the_builder_says_a_too_quick_submission_is_held_for_review_not_dropped(
    owner_client, workspace, lead_form
):
    text = page_text(owner_client.get(forms_url(workspace, f"{lead_form.pk}/")))
    assert "treated as bots" not in text
    assert "Faster submissions are held as suspected for you to review (0 to 60)." in text


def test_the_audit_log_lists_only_the_settings_a_save_changed(owner_client, workspace, lead_form):
    from leadflow.core.models import AuditEntry

    response = owner_client.post(
        forms_url(workspace, f"{lead_form.pk}/"), settings_post(lead_form, submit_label="Book it")
    )
    assert response.status_code == 302, response.content
    (entry,) = AuditEntry.objects.filter(action="form.updated")
    assert entry.changes == {"submit_label": "changed"}


def test_save_keeps_the_new_field_order_and_settings(owner_client, workspace, lead_form, owner):
    fields = lead_form_fields()
    fields.insert(0, fields.pop(4))  # "interest" first
    fields.append({"name": "budget", "type": "radio", "label": "Budget", "options": ["S", "L"]})
    response = owner_client.post(
        forms_url(workspace, f"{lead_form.pk}/"),
        settings_post(
            lead_form,
            fields=json.dumps(fields),
            name="Book a demo (v2)",
            submit_label="Book it",
            notify_user_ids=[str(owner.pk)],
            notify_owner="on",
            tags="demo, web",
            lifecycle_stage="sql",
            allowed_origins="https://www.Acme-Widgets.com/\nhttps://blog.acme-widgets.com",
            double_opt_in="on",
            success_mode="redirect",
            redirect_url="https://www.acme-widgets.com/thanks",
            min_fill_seconds="5",
            status="disabled",
        ),
    )
    assert response.status_code == 302, page_text(response)
    lead_form.refresh_from_db()
    assert [f["name"] for f in lead_form.fields][:2] == ["interest", "email"]
    assert lead_form.fields[-1]["name"] == "budget"
    assert lead_form.name == "Book a demo (v2)" and lead_form.submit_label == "Book it"
    assert lead_form.notify_user_ids == [owner.pk] and lead_form.notify_owner
    assert lead_form.tags == ["demo", "web"] and lead_form.lifecycle_stage == "sql"
    assert lead_form.allowed_origins == [
        "https://www.acme-widgets.com",
        "https://blog.acme-widgets.com",
    ]
    assert lead_form.double_opt_in and lead_form.min_fill_seconds == 5
    assert lead_form.redirect_url == "https://www.acme-widgets.com/thanks"
    assert lead_form.status == "disabled"
    page = owner_client.get(response["Location"])
    assert [row.values["name"] for row in page.context["rows"]][:2] == ["interest", "email"]
    assert "Saved the form" in page_text(page)
    # Back to a thank-you message: the redirect is cleared.
    owner_client.post(
        forms_url(workspace, f"{lead_form.pk}/"),
        settings_post(lead_form, success_mode="message", success_message="Thanks!"),
    )
    lead_form.refresh_from_db()
    assert (lead_form.redirect_url, lead_form.success_message) == ("", "Thanks!")


def test_errors_show_beside_the_right_field_and_setting(owner_client, workspace, lead_form):
    fields = lead_form_fields()
    fields[1]["name"] = "First Name"
    fields[4]["options"] = []
    fields[4]["label"] = "Interest (edited)"
    before = list(lead_form.fields)
    response = owner_client.post(
        forms_url(workspace, f"{lead_form.pk}/"),
        settings_post(
            lead_form,
            fields=json.dumps(fields),
            allowed_origins="not an origin",
            notify_user_ids=["999999"],
        ),
    )
    assert response.status_code == 422
    text = page_text(response)
    assert 'id="fb-1-name-error"' in text
    assert "Use lower-case letters, digits and _" in text
    assert '<p class="error fb-server-error" id="fb-4-options-error">List the options (text).' in (
        text
    )
    assert 'id="fb-0-name-error"' not in text
    # The posted edits stay on the page (and the row with a problem is open).
    rows = response.context["rows"]
    assert rows[4].values["label"] == "Interest (edited)" and rows[4].has_errors
    assert "is not an origin such as" in text and 'id="id_allowed_origins_error"' in text
    assert response.context["list_errors"] == []  # a setting's error stays beside it
    assert "Members of this workspace who can own leads only." in text
    lead_form.refresh_from_db()
    assert lead_form.fields == before


def test_unreadable_settings_still_check_the_fields(owner_client, workspace, lead_form):
    fields = lead_form_fields()
    fields[0]["maps_to"] = "nowhere"
    response = owner_client.post(
        forms_url(workspace, f"{lead_form.pk}/"),
        settings_post(lead_form, fields=json.dumps(fields), min_fill_seconds="soon"),
    )
    assert response.status_code == 422
    text = page_text(response)
    assert 'id="id_min_fill_seconds_error"' in text and 'id="fb-0-maps_to-error"' in text
    broken = owner_client.post(
        forms_url(workspace, f"{lead_form.pk}/"), settings_post(lead_form, fields="{not json")
    )
    assert broken.status_code == 422
    assert "The field list could not be read" in page_text(broken)
    assert len(broken.context["rows"]) == len(lead_form.fields)


def test_preview_renders_unsaved_fields_or_their_problems(owner_client, workspace, lead_form):
    fields = [
        {"name": "plan", "type": "select", "label": "<b>Plan</b>", "options": ["Basic", "Pro"]},
        {"name": "email", "type": "email", "maps_to": "email", "required": True},
    ]
    response = owner_client.post(
        forms_url(workspace, f"{lead_form.pk}/preview"),
        {"fields": json.dumps(fields), "submit_label": "Go"},
    )
    assert response.status_code == 200
    text = page_text(response)
    assert text.index('id="lf-plan"') < text.index('id="lf-email"')
    assert "&lt;b&gt;Plan&lt;/b&gt;" in text and "<b>Plan</b>" not in text
    assert "<option>Pro</option>" in text and ">Go</button>" in text
    fields[0]["options"] = []
    invalid = owner_client.post(
        forms_url(workspace, f"{lead_form.pk}/preview"), {"fields": json.dumps(fields)}
    )
    assert invalid.status_code == 200
    text = page_text(invalid)
    assert 'class="lf-preview-errors"' in text
    assert 'data-field="fields[0].options"' in text
    assert "Field 1 (&lt;b&gt;Plan&lt;/b&gt;) · Options:" in text
    garbage = owner_client.post(forms_url(workspace, f"{lead_form.pk}/preview"), {"fields": "]"})
    assert "The field list could not be read" in page_text(garbage)
    lead_form.refresh_from_db()
    assert lead_form.fields[0]["name"] == "email"  # nothing was saved


def test_delete_asks_then_deletes(owner_client, workspace, lead_form, client_for):
    confirm = owner_client.get(forms_url(workspace, f"{lead_form.pk}/delete/"))
    assert confirm.status_code == 200 and "Delete Book a demo?" in page_text(confirm)
    sales, _ = client_for("sales")
    assert sales.post(forms_url(workspace, f"{lead_form.pk}/delete/")).status_code == 403
    response = owner_client.post(forms_url(workspace, f"{lead_form.pk}/delete/"))
    assert response["Location"] == forms_url(workspace)
    assert not Form.objects.filter(pk=lead_form.pk).exists()


# --- submissions --------------------------------------------------------------------------------


@pytest.fixture
def submitted(lead_form):
    public = PublicClient(lead_form)
    public.submit(good_fields(first_name="=1+1", message="Call me"))
    public.submit(good_fields(email="bot@initech.com", _lf_hp="I am a bot"))
    accepted = Submission.objects.get(form=lead_form, status="accepted")
    spam = Submission.objects.get(form=lead_form, status="spam")
    return accepted, spam


def test_submissions_accepted_and_spam_tabs(
    owner_client, workspace, lead_form, submitted, django_assert_max_num_queries
):
    accepted, spam = submitted
    # session, user, membership, the form (twice: view and selector), the page, counts,
    # the switcher.
    with django_assert_max_num_queries(8):
        response = owner_client.get(forms_url(workspace, f"{lead_form.pk}/submissions/"))
    text = page_text(response)
    assert [row["submission"].pk for row in response.context["rows"]] == [accepted.pk]
    assert url(workspace, f"contacts/{accepted.contact_id}/") in text
    assert "jane@initech.com" in text and "https://www.acme-widgets.com/demo" in text
    assert ">google</td>" in text and ">spring</td>" in text
    spam_page = owner_client.get(forms_url(workspace, f"{lead_form.pk}/submissions/?status=spam"))
    assert [row["submission"].pk for row in spam_page.context["rows"]] == [spam.pk]
    assert "honeypot" in page_text(spam_page)


def test_submission_pages_are_keyset(owner_client, workspace, lead_form, monkeypatch):
    monkeypatch.setattr("leadflow.web.views.forms.SUBMISSIONS_PAGE", 2)
    public = PublicClient(lead_form)
    for index in range(5):
        public.submit(good_fields(email=f"p{index}@initech.com"))
    seen = []
    query = ""
    for _ in range(3):
        response = owner_client.get(forms_url(workspace, f"{lead_form.pk}/submissions/?{query}"))
        seen += [row["email"] for row in response.context["rows"]]
        query = response.context["next_query"]
    assert seen == [f"p{index}@initech.com" for index in reversed(range(5))]
    assert query == ""
    bad = owner_client.get(forms_url(workspace, f"{lead_form.pk}/submissions/?cursor=zzz"))
    assert bad.status_code == 200 and "not valid any more" in page_text(bad)


def test_submission_detail_shows_answers_origin_and_consent(
    owner_client, workspace, lead_form, submitted
):
    accepted, spam = submitted
    response = owner_client.get(forms_url(workspace, f"{lead_form.pk}/submissions/{accepted.pk}/"))
    text = page_text(response)
    assert ("Work email", "jane@initech.com") in response.context["answers"]
    assert ("Reach me by", "Email") in response.context["answers"]
    assert "203.0.113.7" in text and "https://www.google.com/" in text
    assert html.escape(CONSENT_TEXT) in text
    record = ConsentRecord.objects.get(submission=accepted)
    assert record.version in text and "not confirmed" in text
    spam_detail = owner_client.get(forms_url(workspace, f"{lead_form.pk}/submissions/{spam.pk}/"))
    assert "What was sent (not accepted)" in page_text(spam_detail)
    assert ("Work email", "bot@initech.com") in spam_detail.context["answers"]


def test_submission_detail_names_the_campaign_tags_as_people_read_them(
    owner_client, workspace, lead_form, submitted
):
    accepted, _ = submitted
    response = owner_client.get(forms_url(workspace, f"{lead_form.pk}/submissions/{accepted.pk}/"))
    assert response.context["utm"] == [
        ("UTM source", "google"),
        ("UTM medium", "cpc"),
        ("UTM campaign", "spring"),
    ]
    assert "<dt>utm_source</dt>" not in page_text(response)


def test_a_submission_without_a_visitor_id_shows_a_plain_dash_not_a_code_chip(
    owner_client, workspace, lead_form, submitted
):
    _, spam = submitted
    Submission.objects.filter(pk=spam.pk).update(visitor_id="")
    text = page_text(
        owner_client.get(forms_url(workspace, f"{lead_form.pk}/submissions/{spam.pk}/"))
    )
    assert "<code>—</code>" not in text
    assert "<dt>Visitor id</dt><dd>—</dd>" in text


def test_csv_export_is_safe_for_spreadsheets(owner_client, workspace, lead_form, submitted):
    response = owner_client.get(forms_url(workspace, f"{lead_form.pk}/submissions/export.csv"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "book-a-demo-submissions.csv" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode().removeprefix("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1
    assert rows[0]["first_name"] == "'=1+1"
    assert rows[0]["utm_source"] == "google"
    spam = owner_client.get(
        forms_url(workspace, f"{lead_form.pk}/submissions/export.csv?status=spam")
    )
    spam_rows = list(
        csv.DictReader(io.StringIO(b"".join(spam.streaming_content).decode().lstrip("\ufeff")))
    )
    assert [row["status"] for row in spam_rows] == ["spam"]


# --- tenancy and roles ----------------------------------------------------------------------------


def test_another_workspaces_form_is_not_found_everywhere(
    owner_client, workspace, lead_form, other_form
):
    submission = Submission.objects.create(
        workspace=other_form.workspace, form=other_form, status="accepted", values={}
    )
    form_id = other_form.pk
    for path in (
        f"{form_id}/",
        f"{form_id}/delete/",
        f"{form_id}/submissions/",
        f"{form_id}/submissions/?status=spam",
        f"{form_id}/submissions/{submission.pk}/",
        f"{form_id}/submissions/export.csv",
    ):
        assert owner_client.get(forms_url(workspace, path)).status_code == 404, path
    for path in (f"{form_id}/", f"{form_id}/preview", f"{form_id}/delete/"):
        response = owner_client.post(forms_url(workspace, path), settings_post(other_form))
        assert response.status_code == 404, path
    # A submission of another form of this workspace is not found under this form either.
    assert (
        owner_client.get(
            forms_url(workspace, f"{lead_form.pk}/submissions/{submission.pk}/")
        ).status_code
        == 404
    )
    other_form.refresh_from_db()
    assert other_form.name == "Other newsletter"
    # Someone who is not a member does not learn the workspace exists.
    assert owner_client.get(forms_url(other_form.workspace)).status_code == 404


def test_viewers_read_but_cannot_change(client_for, workspace, lead_form):
    viewer, _ = client_for("viewer")
    assert viewer.get(forms_url(workspace)).status_code == 200
    builder = viewer.get(forms_url(workspace, f"{lead_form.pk}/"))
    assert builder.status_code == 200
    text = page_text(builder)
    assert '<fieldset class="builder-fieldset" disabled>' in text
    assert "Save form" not in text and 'id="fb-row-template"' not in text
    assert viewer.get(forms_url(workspace, f"{lead_form.pk}/submissions/")).status_code == 200
    assert viewer.get(forms_url(workspace, "new/")).status_code == 403
    assert viewer.post(forms_url(workspace, "new/"), {"name": "Mine"}).status_code == 403
    response = viewer.post(
        forms_url(workspace, f"{lead_form.pk}/"), settings_post(lead_form, name="Hijacked")
    )
    assert response.status_code == 403
    assert viewer.get(forms_url(workspace, f"{lead_form.pk}/delete/")).status_code == 403
    assert viewer.post(forms_url(workspace, f"{lead_form.pk}/delete/")).status_code == 403
    lead_form.refresh_from_db()
    assert lead_form.name == "Book a demo"
    assert Form.objects.filter(workspace=workspace).count() == 1


def test_anonymous_visitors_are_sent_to_log_in(client, workspace, lead_form):
    response = client.get(forms_url(workspace, f"{lead_form.pk}/"))
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- contact timeline ----------------------------------------------------------------------------


def test_timeline_shows_the_submission_with_page_and_utm_escaped(
    owner_client, workspace, lead_form
):
    PublicClient(lead_form).submit(
        good_fields(first_name="<img src=x onerror=alert(1)>"),
        context={
            "page_url": 'https://www.acme-widgets.com/demo?"><script>alert(1)</script>',
            "referrer": "https://www.google.com/",
            "utm": {"utm_source": "<b>google</b>", "utm_medium": "cpc", "utm_campaign": "spring"},
        },
    )
    submission = Submission.objects.get(form=lead_form)
    services.optin_confirm(token=services.optin_token(submission))
    response = owner_client.get(url(workspace, f"contacts/{submission.contact_id}/"))
    text = page_text(response)
    assert "Submitted Book a demo" in text
    assert (
        "Page: https://www.acme-widgets.com/demo?&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
        in text
    )
    assert "<script>alert(1)</script>" not in text
    assert "UTM: source &lt;b&gt;google&lt;/b&gt; · medium cpc · campaign spring" in text
    assert "First name: &lt;img src=x onerror=alert(1)&gt;" in text
    assert "Channels: Email" in text and "Consent: Yes" in text
    entries = {entry.kind: entry for entry in response.context["entries"]}
    consent = entries["consent.changed"]
    assert [(c.label, c.old, c.new) for c in consent.changes] == [
        ("Consent", "Granted", "Confirmed (double opt-in)")
    ]
