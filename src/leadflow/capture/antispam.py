"""Layered, invisible anti-spam for public forms.

- Honeypot: a field people never see (``_lf_hp``); bots fill it.
- Time trap: a signed token issued when the form is shown (``_lf_t``); a submission
  faster than the form's ``min_fill_seconds``, or with a forged or stale token, is a bot.
- Proof of work (optional, per form): the browser finds a nonce so that
  sha256(challenge + nonce) starts with DIFFICULTY_BITS zero bits; cheap for one person,
  costly for a flood.
Honeypot and time-trap failures answer with an apparent success and store the attempt
as spam (bots learn nothing). Rate limits answer 429 with Retry-After.
"""

import hashlib
import secrets
import time

from django.conf import settings
from django.core import signing

from leadflow.capture.models import Form
from leadflow.core.ratelimit import rate_limit_hit

HONEYPOT_FIELD = "_lf_hp"
TOKEN_FIELD = "_lf_t"
POW_FIELD = "_lf_pow"
TOKEN_MAX_AGE_SECONDS = 24 * 3600
DIFFICULTY_BITS = 16
_SALT = "leadflow.capture.form-token"


def form_token_issue(form: Form) -> str:
    """A signed token saying when this form was shown, with a proof-of-work challenge."""
    return signing.dumps(
        {"f": form.key, "t": time.time(), "c": secrets.token_hex(8)}, salt=_SALT, compress=False
    )


def form_token_read(form: Form, token: str) -> dict | None:
    try:
        data = signing.loads(token, salt=_SALT, max_age=TOKEN_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("f") != form.key:
        return None
    return data


def proof_of_work_ok(challenge: str, nonce: str, bits: int = DIFFICULTY_BITS) -> bool:
    digest = hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()
    value = int.from_bytes(digest, "big")
    return value >> (256 - bits) == 0


def spam_reason(
    form: Form, *, honeypot: str, token: str | None, pow_nonce: str, token_required: bool
) -> str:
    """Why this looks like a bot ('' when it looks like a person)."""
    if honeypot:
        return "honeypot"
    if token is None or token == "":
        return "missing time token" if token_required or form.proof_of_work else ""
    data = form_token_read(form, token)
    if data is None:
        return "invalid time token"
    if time.time() - float(data["t"]) < form.min_fill_seconds:
        return "too fast"
    if form.proof_of_work and not proof_of_work_ok(str(data.get("c", "")), pow_nonce):
        return "proof of work"
    return ""


def rate_limited(form: Form, ip: str | None) -> int:
    """Seconds to wait when the IP or the form is over its limit, else 0."""
    per_ip = settings.LEADFLOW_FORM_RATE_PER_IP
    wait = rate_limit_hit(f"form-ip:{form.pk}:{ip}", limit=per_ip, window_seconds=60) if ip else 0
    return wait or rate_limit_hit(
        f"form:{form.pk}", limit=settings.LEADFLOW_FORM_RATE_PER_FORM, window_seconds=60
    )
