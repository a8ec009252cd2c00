"""Settings → Tracking & sites: public key and snippet, allowed sites (with the warning when
there are none), privacy settings, retention, and the channel rules editor."""

import pytest
from django.core.cache import cache
from django.utils.html import escape

from leadflow.core.actors import Actor
from leadflow.core.errors import NotFound, ValidationFailed
from leadflow.core.models import AuditEntry, Membership
from leadflow.tracking import services
from leadflow.tracking.models import ChannelRule, VisitSession
from tests.tracking.helpers import SITE, batch, event, send
from tests.web.conftest import url

OPEN_WARNING = "any website can send data and embed your forms"


def tracking_url(workspace, path=""):
    return url(workspace, f"settings/tracking/{path}")


def settings_form(**changes):
    form = {
        "allowed_origins": "",
        "respect_privacy_signals": "on",
        "event_retention_days": "395",
    }
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


class TestTrackingSettings:
    def test_shows_the_public_key_the_snippet_and_the_open_sites_warning(
        self, owner_client, workspace
    ):
        response = owner_client.get(tracking_url(workspace))
        assert response.status_code == 200
        html = response.content.decode()
        assert workspace.public_key in html
        snippet = (
            f'<script src="http://testserver/static/leadflow/lf.js" '
            f'data-key="{workspace.public_key}" async></script>'
        )
        assert escape(snippet) in html  # shown as text to copy, never as a live tag
        assert snippet not in html
        assert OPEN_WARNING in html
        assert 'name="respect_privacy_signals" aria-describedby="id_privacy_help" checked' in html

    def test_save_the_sites_and_privacy_settings(self, owner_client, workspace, owner):
        response = owner_client.post(
            tracking_url(workspace),
            settings_form(
                allowed_origins=(
                    "https://www.acme-widgets.com\n\n  https://Shop.Acme-Widgets.com:8443/ \n"
                ),
                respect_privacy_signals=None,
                tracking_requires_consent="on",
                event_retention_days="90",
            ),
        )
        assert response.status_code == 302
        workspace.refresh_from_db()
        assert workspace.allowed_origins == [
            "https://www.acme-widgets.com",
            "https://shop.acme-widgets.com:8443",
        ]
        assert workspace.respect_privacy_signals is False
        assert workspace.tracking_requires_consent is True
        assert workspace.event_retention_days == 90
        entry = AuditEntry.objects.get(workspace=workspace, action="workspace.updated")
        assert entry.actor_user_id == owner.pk
        assert set(entry.changes) == {
            "allowed_origins",
            "respect_privacy_signals",
            "tracking_requires_consent",
            "event_retention_days",
        }
        page = owner_client.get(tracking_url(workspace)).content.decode()
        assert OPEN_WARNING not in page
        assert "https://www.acme-widgets.com\nhttps://shop.acme-widgets.com:8443</textarea>" in page

    def test_bad_origin_and_retention_show_beside_their_fields(self, owner_client, workspace):
        response = owner_client.post(
            tracking_url(workspace),
            settings_form(
                allowed_origins="https://www.acme-widgets.com\nftp://<b>files</b>",
                event_retention_days="forever",
            ),
        )
        assert response.status_code == 422
        html = response.content.decode()
        assert 'id="id_allowed_origins_error"' in html
        assert "Not an origin such as https://www.example.com" in html
        assert 'id="id_event_retention_days_error"' in html
        assert "A whole number of days, 1 to 3650." in html
        # What was typed stays in the box (escaped), and nothing was saved.
        assert "ftp://&lt;b&gt;files&lt;/b&gt;</textarea>" in html
        assert "<b>files</b>" not in html
        workspace.refresh_from_db()
        assert workspace.allowed_origins == []
        assert workspace.event_retention_days == 395
        assert OPEN_WARNING in html  # the saved state: still open

    @pytest.mark.parametrize("days", ["0", "3651", "²", "9" * 30, "-5", "1.5"])
    def test_retention_outside_the_range_is_refused(self, owner_client, workspace, days):
        response = owner_client.post(
            tracking_url(workspace), settings_form(event_retention_days=days)
        )
        assert response.status_code == 422
        assert 'id="id_event_retention_days_error"' in response.content.decode()

    def test_the_saved_list_governs_tracking_from_then_on(self, owner_client, workspace):
        cache.clear()
        owner_client.post(
            tracking_url(workspace), settings_form(allowed_origins="https://elsewhere.example")
        )
        refused = send(batch(workspace, [event()]), origin=SITE)
        assert refused.status_code == 403
        owner_client.post(tracking_url(workspace), settings_form(allowed_origins=SITE))
        assert send(batch(workspace, [event()]), origin=SITE).status_code == 202

    @pytest.mark.parametrize("role", ["marketer", "sales", "viewer"])
    def test_only_settings_managers_reach_it(self, client_for, workspace, role):
        client, _ = client_for(role)
        assert client.get(tracking_url(workspace)).status_code == 403
        assert client.post(tracking_url(workspace), settings_form()).status_code == 403
        assert b"Tracking &amp; sites" not in client.get(url(workspace, "contacts/")).content

    def test_admin_reaches_it_and_the_tab_is_in_the_settings_nav(self, client_for, workspace):
        client, _ = client_for("admin")
        response = client.get(url(workspace, "settings/"))
        assert b"Tracking &amp; sites" in response.content
        assert client.get(tracking_url(workspace)).status_code == 200

    def test_another_workspace_answers_404(self, owner_client, other_workspace):
        assert owner_client.get(tracking_url(other_workspace)).status_code == 404


def rule_form(**changes):
    form = {
        "channel": "affiliate",
        "utm_source": "",
        "utm_medium": "",
        "referrer_domain": "",
        "click_id": "",
        "position": "10",
    }
    form.update(changes)
    return form


class TestChannelRules:
    def test_add_edit_delete(self, owner_client, workspace, owner):
        response = owner_client.post(
            tracking_url(workspace, "rules/"), rule_form(utm_source="partnerhub|affnet")
        )
        assert response.status_code == 302
        rule = ChannelRule.objects.get(workspace=workspace)
        assert (rule.channel, rule.utm_source, rule.position) == (
            "affiliate",
            "partnerhub|affnet",
            10,
        )
        page = owner_client.get(tracking_url(workspace)).content.decode()
        assert "partnerhub|affnet" in page and "Affiliate" in page
        assert 'name="position" type="number" value="20"' in page  # the next free position

        edit = tracking_url(workspace, f"rules/{rule.pk}/")
        assert owner_client.get(edit).status_code == 200
        response = owner_client.post(
            edit, rule_form(channel="paid_social", utm_medium="^paid$", click_id="fbclid")
        )
        assert response.status_code == 302
        rule.refresh_from_db()
        assert (rule.channel, rule.utm_source, rule.utm_medium, rule.click_id) == (
            "paid_social",
            "",
            "^paid$",
            "fbclid",
        )
        response = owner_client.post(tracking_url(workspace, f"rules/{rule.pk}/delete/"))
        assert response.status_code == 302
        assert not ChannelRule.objects.exists()
        actions = list(
            AuditEntry.objects.filter(workspace=workspace, action__startswith="channel_rule.")
            .order_by("id")
            .values_list("action", "actor_user_id")
        )
        assert actions == [
            ("channel_rule.created", owner.pk),
            ("channel_rule.updated", owner.pk),
            ("channel_rule.deleted", owner.pk),
        ]

    def test_a_pattern_that_does_not_compile_shows_beside_its_input(self, owner_client, workspace):
        response = owner_client.post(
            tracking_url(workspace, "rules/"),
            rule_form(utm_source="(partner", referrer_domain="[a-"),
        )
        assert response.status_code == 422
        html = response.content.decode()
        assert 'id="id_rule_utm_source_error"' in html
        assert 'id="id_rule_referrer_domain_error"' in html
        assert "Not a regular expression" in html
        assert 'value="(partner"' in html  # what was typed stays
        assert not ChannelRule.objects.exists()

    def test_a_rule_needs_a_condition_and_a_known_channel(self, owner_client, workspace):
        response = owner_client.post(tracking_url(workspace, "rules/"), rule_form())
        assert response.status_code == 422
        assert "Give at least one condition" in response.content.decode()
        response = owner_client.post(
            tracking_url(workspace, "rules/"),
            rule_form(channel="carrier_pigeon", utm_source="x", click_id="nope", position="x"),
        )
        assert response.status_code == 422
        html = response.content.decode()
        for name in ("channel", "click_id", "position"):
            assert f'id="id_rule_{name}_error"' in html
        assert not ChannelRule.objects.exists()

    def test_a_bad_edit_keeps_the_rule(self, owner_client, workspace, owner_actor):
        rule = services.channel_rule_create(
            workspace=workspace, data={"channel": "email", "utm_medium": "mail"}, actor=owner_actor
        )
        response = owner_client.post(
            tracking_url(workspace, f"rules/{rule.pk}/"), rule_form(utm_medium="*bad")
        )
        assert response.status_code == 422
        assert 'id="id_rule_utm_medium_error"' in response.content.decode()
        rule.refresh_from_db()
        assert (rule.channel, rule.utm_medium) == ("email", "mail")

    def test_rules_classify_new_visits_before_the_built_in_table(self, owner_client, workspace):
        cache.clear()
        owner_client.post(
            tracking_url(workspace, "rules/"),
            rule_form(channel="affiliate", utm_source="partner.*", utm_medium="cpc"),
        )
        first = event(
            session={
                "landing_page": f"{SITE}/?utm_source=partnerhub&utm_medium=cpc",
                "referrer": "",
                "utm": {"utm_source": "PartnerHub", "utm_medium": "cpc"},
                "click_ids": {},
            }
        )
        assert send(batch(workspace, [first])).status_code == 202
        assert VisitSession.objects.get(workspace=workspace).channel == "affiliate"

    @pytest.mark.parametrize("role", ["marketer", "viewer"])
    def test_marketers_and_viewers_cannot_change_rules(
        self, client_for, workspace, owner_actor, role
    ):
        rule = services.channel_rule_create(
            workspace=workspace, data={"channel": "email", "utm_medium": "mail"}, actor=owner_actor
        )
        client, _ = client_for(role)
        assert (
            client.post(tracking_url(workspace, "rules/"), rule_form(utm_source="x")).status_code
            == 403
        )
        assert client.get(tracking_url(workspace, f"rules/{rule.pk}/")).status_code == 403
        assert (
            client.post(tracking_url(workspace, f"rules/{rule.pk}/"), rule_form(utm_source="x"))
        ).status_code == 403
        assert client.post(tracking_url(workspace, f"rules/{rule.pk}/delete/")).status_code == 403
        assert ChannelRule.objects.filter(workspace=workspace).count() == 1

    def test_another_workspaces_rule_answers_404(self, owner_client, workspace, other_workspace):
        owner = Membership.objects.get(workspace=other_workspace).user
        theirs = services.channel_rule_create(
            workspace=other_workspace,
            data={"channel": "email", "utm_medium": "mail"},
            actor=Actor.for_user(owner),
        )
        assert owner_client.get(tracking_url(workspace, f"rules/{theirs.pk}/")).status_code == 404
        response = owner_client.post(
            tracking_url(workspace, f"rules/{theirs.pk}/"), rule_form(utm_source="x")
        )
        assert response.status_code == 404
        assert (
            owner_client.post(tracking_url(workspace, f"rules/{theirs.pk}/delete/")).status_code
            == 404
        )
        theirs.refresh_from_db()
        assert theirs.utm_medium == "mail"


class TestChannelRuleServices:
    def test_validation_names_every_bad_field(self, workspace, owner_actor):
        with pytest.raises(ValidationFailed) as failure:
            services.channel_rule_create(
                workspace=workspace,
                data={"channel": "", "utm_source": "(", "position": -1, "colour": "red"},
                actor=owner_actor,
            )
        assert {error.field for error in failure.value.errors} == {
            "channel",
            "utm_source",
            "position",
            "colour",
        }

    def test_update_records_only_what_changed(self, workspace, owner_actor):
        rule = services.channel_rule_create(
            workspace=workspace,
            data={"channel": "email", "utm_medium": "mail", "position": 5},
            actor=owner_actor,
        )
        services.channel_rule_update(
            workspace=workspace, rule_id=rule.pk, data={"position": 7}, actor=owner_actor
        )
        entry = AuditEntry.objects.get(action="channel_rule.updated")
        assert entry.changes == {"position": [5, 7]}
        services.channel_rule_update(
            workspace=workspace, rule_id=rule.pk, data={"position": 7}, actor=owner_actor
        )
        assert AuditEntry.objects.filter(action="channel_rule.updated").count() == 1

    def test_other_workspace_ids_are_not_found(self, workspace, other_workspace, owner_actor):
        rule = services.channel_rule_create(
            workspace=workspace, data={"channel": "email", "utm_medium": "mail"}, actor=owner_actor
        )
        with pytest.raises(NotFound):
            services.channel_rule_delete(
                workspace=other_workspace, rule_id=rule.pk, actor=owner_actor
            )
        assert ChannelRule.objects.filter(pk=rule.pk).exists()
