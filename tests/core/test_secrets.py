"""Secrets a workspace names (core.secrets, decision 0047): a settings row names an
environment variable, and only ``<prefix>W<its workspace id>`` or ``…W<id>_…`` is its to
name. Workspace A can neither save workspace B's variable name (422 naming the field) nor
use it when such a name is forced into its row (a row saved before names were scoped):
it reads as not set, the API and the page say so, and the webhooks it would have checked
are refused."""

import types
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.test import Client

from leadflow.chat.models import Channel
from leadflow.chat.models.channels import SECRET_ENV_PREFIX
from leadflow.chat.services.channels import channel_secret
from leadflow.core.errors import ValidationFailed
from leadflow.core.secrets import (
    secret_name_base,
    secret_name_error,
    secret_name_problems,
    secret_read,
)
from leadflow.deals.models import PaymentEvent, PaymentSettings
from leadflow.deals.services.payments import ENV_PREFIX as STRIPE
from leadflow.deals.services.payments import payment_secret, stripe_webhook_token
from leadflow.nurture.models import (
    DKIM_KEY_ENV_PREFIX,
    MAILBOX_PASSWORD_ENV_PREFIX,
    MAILGUN_KEY_ENV_PREFIX,
    PASSWORD_ENV_PREFIX,
    BounceSettings,
    SmsInbound,
    SmsSettings,
    SmtpSettings,
)
from leadflow.nurture.models.sms import TOKEN_ENV_PREFIX
from leadflow.nurture.services.bounce_settings import bounce_secret, webhook_path
from leadflow.nurture.services.sms import sms_settings_token
from leadflow.nurture.services.sms_inbound import sms_webhook_urls
from leadflow.nurture.services.transport import dkim_key, mail_connection, smtp_secret

SECRET = "the-other-workspaces-secret"

# --- the rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "LEADFLOW_STRIPE_W12",
        "LEADFLOW_STRIPE_W12_KEY",
        "LEADFLOW_STRIPE_W12_LIVE_2",
        "LEADFLOW_STRIPE_W12_" + "K" * 80,
    ],
)
def test_the_workspaces_own_names_pass(name):
    assert secret_name_base(12, STRIPE) == "LEADFLOW_STRIPE_W12"
    assert secret_name_error(12, STRIPE, name) is None


@pytest.mark.parametrize(
    "name",
    [
        "LEADFLOW_STRIPE_W123",  # workspace 123's, not 12's
        "LEADFLOW_STRIPE_W123_KEY",
        "LEADFLOW_STRIPE_W1",
        "LEADFLOW_STRIPE_W12_",  # the "_" needs something after it
        "LEADFLOW_STRIPE_W12KEY",
        "LEADFLOW_STRIPE_w12_key",
        "leadflow_stripe_w12_key",
        "LEADFLOW_STRIPE_W12_" + "K" * 81,  # 101 characters
        "LEADFLOW_STRIPE_W12_KEY-2",
        "LEADFLOW_STRIPE_W12_KÉY",
        "LEADFLOW_STRIPE_W12_KEY ",
        "LEADFLOW_SMS_TOKEN_W12_KEY",  # another prefix
        "LEADFLOW_STRIPE_KEY",  # the unscoped names of before
        "DATABASE_URL",
        "",
    ],
)
def test_any_other_name_is_refused_and_reads_as_not_set(name, monkeypatch):
    if name.strip():
        monkeypatch.setenv(name.strip(), "value")
    error = secret_name_error(12, STRIPE, name)
    assert error == (
        "Name an environment variable LEADFLOW_STRIPE_W12 or LEADFLOW_STRIPE_W12_… "
        "(this workspace's own)."
    )
    assert secret_read(12, STRIPE, name) == ""


def test_a_good_name_reads_its_variable_and_a_stale_one_is_explained(monkeypatch):
    monkeypatch.setenv("LEADFLOW_STRIPE_W12_KEY", "sk_test_1")
    assert secret_read(12, STRIPE, "LEADFLOW_STRIPE_W12_KEY") == "sk_test_1"
    assert secret_read(12, STRIPE, "LEADFLOW_STRIPE_W12_UNSET") == ""
    row = types.SimpleNamespace(
        workspace_id=12, good="LEADFLOW_STRIPE_W12_KEY", old="LEADFLOW_STRIPE_KEY", empty=""
    )
    problems = secret_name_problems(row, {"good": STRIPE, "old": STRIPE, "empty": STRIPE})
    assert problems == {
        "old": "LEADFLOW_STRIPE_KEY is not this workspace's name, so it reads as not set: "
        "rename the variable to LEADFLOW_STRIPE_W12 or LEADFLOW_STRIPE_W12_…."
    }


# --- every setting that names a secret -----------------------------------------------------


@dataclass
class Setting:
    """One settings field naming a secret: how the API saves it, how a row holding it is
    forced into the database, how the API shows it, and the service's read of its value."""

    prefix: str
    field: str
    save: Callable  # (api, values) -> response
    force: Callable  # (workspace, values) -> row
    shown: Callable  # (row) -> API path
    read: Callable  # (row, field) -> value
    page: str  # the settings page, formatted with the row
    set_key: str | None = None


def _channel(workspace, values):
    return Channel.objects.create(
        workspace=workspace, kind="whatsapp", name="Support", account_id="1065", **values
    )


def _smtp(field: str, set_key: str | None = None) -> Setting:
    prefix = PASSWORD_ENV_PREFIX if field == "password_env" else DKIM_KEY_ENV_PREFIX
    return Setting(
        prefix,
        field,
        lambda api, values: api.put("/nurture/smtp-settings", values),
        lambda workspace, values: SmtpSettings.objects.create(workspace=workspace, **values),
        lambda row: "/nurture/smtp-settings",
        smtp_secret,
        "settings/marketing-email/",
        set_key,
    )


def _bounces(field: str) -> Setting:
    prefix = MAILBOX_PASSWORD_ENV_PREFIX if field == "password_env" else MAILGUN_KEY_ENV_PREFIX
    return Setting(
        prefix,
        field,
        lambda api, values: api.patch("/nurture/bounces/settings", values),
        lambda workspace, values: BounceSettings.objects.create(workspace=workspace, **values),
        lambda row: "/nurture/bounces/settings",
        bounce_secret,
        "settings/bounces/",
    )


def _stripe(field: str, set_key: str) -> Setting:
    return Setting(
        STRIPE,
        field,
        lambda api, values: api.put("/deals/payment-settings", values),
        lambda workspace, values: PaymentSettings.objects.create(workspace=workspace, **values),
        lambda row: "/deals/payment-settings",
        payment_secret,
        "settings/products/",
        set_key,
    )


def _messenger(field: str, set_key: str) -> Setting:
    return Setting(
        SECRET_ENV_PREFIX,
        field,
        lambda api, values: api.post(
            "/chat/channels",
            {"kind": "whatsapp", "name": "Support", "account_id": "1065", **values},
        ),
        _channel,
        lambda row: f"/chat/channels/{row.pk}",
        channel_secret,
        "settings/chat-channels/{row.pk}/",
        set_key,
    )


SMS_PROVIDER = {"account_sid": "AC123", "from_number": "+14155550100"}
SETTINGS = {
    "stripe secret key": _stripe("secret_key_env", "secret_key_set"),
    "stripe webhook secret": _stripe("webhook_secret_env", "webhook_secret_set"),
    "sms token": Setting(
        TOKEN_ENV_PREFIX,
        "token_env",
        lambda api, values: api.put("/nurture/sms-settings", {**SMS_PROVIDER, **values}),
        lambda workspace, values: SmsSettings.objects.create(
            workspace=workspace, **SMS_PROVIDER, **values
        ),
        lambda row: "/nurture/sms-settings",
        lambda row, field: sms_settings_token(row),
        "settings/sms/",
        "token_set",
    ),
    "smtp password": _smtp("password_env", "password_set"),
    "dkim key": _smtp("dkim_key_env"),
    "imap password": _bounces("password_env"),
    "mailgun key": _bounces("mailgun_key_env"),
    "messenger token": _messenger("token_env", "token_set"),
    "messenger app secret": _messenger("app_secret_env", "app_secret_set"),
}


def own_name(workspace, setting: Setting) -> str:
    return secret_name_base(workspace.pk, setting.prefix) + "_MAIN"


@pytest.mark.django_db
@pytest.mark.parametrize("setting", SETTINGS.values(), ids=SETTINGS.keys())
def test_a_workspace_cannot_save_another_workspaces_variable(
    setting, api, workspace, other_workspace
):
    theirs = own_name(other_workspace, setting)
    refused = setting.save(api, {setting.field: theirs})
    assert refused.status_code == 422, refused.content
    (error,) = [e for e in refused.json()["errors"] if e["field"] == setting.field]
    assert secret_name_base(workspace.pk, setting.prefix) in error["message"]
    assert setting.save(api, {setting.field: own_name(workspace, setting)}).status_code in (
        200,
        201,
    )


@pytest.mark.django_db
@pytest.mark.parametrize("setting", SETTINGS.values(), ids=SETTINGS.keys())
def test_another_workspaces_name_forced_into_a_row_reads_as_not_set_and_says_so(
    setting, api, workspace, other_workspace, owner, monkeypatch
):
    theirs = own_name(other_workspace, setting)
    monkeypatch.setenv(theirs, SECRET)
    row = setting.force(workspace, {setting.field: theirs})
    assert setting.read(row, setting.field) == ""

    shown = api.get(setting.shown(row)).json()
    assert shown[setting.field] == theirs and SECRET not in str(shown)
    assert secret_name_base(workspace.pk, setting.prefix) in shown["env_problems"][setting.field]
    if setting.set_key:
        assert shown[setting.set_key] is False
    client = Client()
    client.force_login(owner)
    page_path = f"/w/{workspace.slug}/{setting.page.format(row=row)}"
    page = client.get(page_path).content.decode()
    assert f"{theirs} is not this workspace&#x27;s name, so it reads as not set" in page

    # The workspace's own name, with the same value, is read and shown as set.
    base = secret_name_base(workspace.pk, setting.prefix)
    mine = base + "_RENAMED"
    monkeypatch.setenv(mine, SECRET)
    type(row).objects.filter(pk=row.pk).update(**{setting.field: mine})
    row.refresh_from_db()
    assert setting.read(row, setting.field) == SECRET
    shown = api.get(setting.shown(row)).json()
    assert shown["env_problems"] == {}
    if setting.set_key:
        assert shown[setting.set_key] is True
    page = client.get(page_path).content.decode()
    # No line to rename; the help (or placeholder) shows this workspace's own form.
    assert "secret-problem" not in page and theirs not in page
    assert f"{base}_…" in page or f'placeholder="{base}_MAIN"' in page


@pytest.mark.django_db
def test_the_smtp_password_and_dkim_key_of_another_workspace_are_not_used(
    workspace, other_workspace, monkeypatch
):
    password, key = (
        own_name(other_workspace, SETTINGS["smtp password"]),
        own_name(other_workspace, SETTINGS["dkim key"]),
    )
    monkeypatch.setenv(password, SECRET)
    monkeypatch.setenv(key, "-----BEGIN RSA PRIVATE KEY-----")
    smtp = SmtpSettings.objects.create(
        workspace=workspace, host="smtp.acme.example", password_env=password,
        dkim_domain="acme-widgets.com", dkim_selector="lf1", dkim_key_env=key,
    )  # fmt: skip
    assert mail_connection(smtp).password == ""
    with pytest.raises(ValidationFailed) as failure:
        dkim_key(smtp)
    assert failure.value.errors[0].field == "dkim_key_env"


# --- the webhooks a forced name would have checked -----------------------------------------


def _stripe_hook(workspace, name: str, secret: str) -> int:
    import hashlib
    import hmac
    import json
    import time

    PaymentSettings.objects.update_or_create(
        workspace=workspace, defaults={"webhook_secret_env": name}
    )
    body = json.dumps(
        {"id": f"evt_{name}", "type": "checkout.session.expired",
         "data": {"object": {"id": "cs_1", "metadata": {"order_id": "999999"}}}}
    ).encode()  # fmt: skip
    at = int(time.time())
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return (
        Client()
        .post(
            f"/hooks/stripe/{stripe_webhook_token(workspace.pk)}/",
            data=body,
            content_type="application/json",
            headers={"Stripe-Signature": f"t={at},v1={digest}"},
        )
        .status_code
    )


def _sms_hook(workspace, name: str, secret: str) -> int:
    from tests.nurture.sms_kit import signature

    SmsSettings.objects.update_or_create(
        workspace=workspace, defaults={**SMS_PROVIDER, "token_env": name}
    )
    url = sms_webhook_urls(workspace.pk, "http://testserver/")["inbound"]
    params = {"MessageSid": f"SM{len(name)}", "AccountSid": "AC123", "Body": "STOP",
              "From": "+14155550134", "To": "+14155550100"}  # fmt: skip
    made = signature(url, params, secret)
    return (
        Client().post(urlsplit(url).path, params, headers={"X-Twilio-Signature": made}).status_code
    )


def _whatsapp_hook(workspace, name: str, secret: str) -> int:
    from tests.chat.channel_kit import fixture, signed

    channel = Channel.objects.filter(workspace=workspace).first() or _channel(workspace, {})
    Channel.objects.filter(pk=channel.pk).update(app_secret_env=name)
    raw, made = signed(fixture("whatsapp_text"), secret)
    return (
        Client()
        .post(
            f"/hooks/whatsapp/{channel.webhook_token}/",
            data=raw,
            content_type="application/json",
            headers={"X-Hub-Signature-256": made},
        )
        .status_code
    )


def _mailgun_hook(workspace, name: str, secret: str) -> int:
    from tests.nurture.test_bounce_webhooks import mailgun_body

    BounceSettings.objects.update_or_create(workspace=workspace, defaults={"mailgun_key_env": name})
    delivery = types.SimpleNamespace(
        address="ann@example.net", header_message_id="<nobody@acme-widgets.com>"
    )
    return (
        Client()
        .post(
            webhook_path(workspace, "mailgun"),
            mailgun_body(delivery, secret),
            content_type="application/json",
        )
        .status_code
    )


HOOKS = {
    "stripe webhook secret": (STRIPE, _stripe_hook, 400),
    "sms token": (TOKEN_ENV_PREFIX, _sms_hook, 403),
    "messenger app secret": (SECRET_ENV_PREFIX, _whatsapp_hook, 403),
    "mailgun key": (MAILGUN_KEY_ENV_PREFIX, _mailgun_hook, 400),
}


@pytest.mark.django_db
@pytest.mark.parametrize("prefix, post, refused", HOOKS.values(), ids=HOOKS.keys())
def test_a_webhook_signed_with_another_workspaces_secret_is_refused(
    prefix, post, refused, workspace, other_workspace, monkeypatch
):
    theirs = secret_name_base(other_workspace.pk, prefix) + "_HOOK"
    mine = secret_name_base(workspace.pk, prefix) + "_HOOK"
    monkeypatch.setenv(theirs, SECRET)
    monkeypatch.setenv(mine, SECRET)
    assert post(workspace, theirs, SECRET) == refused
    assert not PaymentEvent.objects.exists() and not SmsInbound.objects.exists()
    assert post(workspace, mine, SECRET) == 200
