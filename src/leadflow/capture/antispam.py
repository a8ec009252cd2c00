"""Layered, invisible anti-spam for public forms.

- Honeypot: a field people never see (``_lf_hp``); bots fill it.
- Time trap: a signed token issued when the form is shown (``_lf_t``); a submission
  faster than the form's ``min_fill_seconds``, or with a forged or stale token, is a bot.
- Proof of work (optional, per form): the browser finds a nonce so that
  sha256(challenge + nonce) starts with DIFFICULTY_BITS zero bits; cheap for one person,
  costly for a flood.
Every failure answers with an apparent success (bots learn nothing). A hard signal
(honeypot, a forged or missing token, no proof of work) stores the attempt as spam; a
soft one (sent sooner than ``min_fill_seconds``, or a token past its age: what a quick
person with autofill, or a tab left open for a day, also does) holds it as *suspected*
for a member to release. Rate limits answer 429 with Retry-After.

The time a token carries is when the form was first shown: the hosted page's 422
re-render hands the posted token back (``form_token_carry``), so correcting a typo never
restarts the clock.
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


def form_token_issue(form: Form, *, shown_at: float | None = None) -> str:
    """A signed token saying when this form was shown (``shown_at``, a Unix time: now when
    not given), with a proof-of-work challenge."""
    shown = time.time() if shown_at is None else shown_at
    return signing.dumps(
        {"f": form.key, "t": shown, "c": secrets.token_hex(8)}, salt=_SALT, compress=False
    )


def form_token_read(form: Form, token: str) -> dict | None:
    """The token's data when it is this form's, signed by us and younger than its age."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=TOKEN_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("f") != form.key:
        return None
    return data


def _expired_token_read(form: Form, token: str) -> dict | None:
    """The data of a token that is ours and this form's, only too old (a tab left open)."""
    try:
        data = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        return None
    return data if isinstance(data, dict) and data.get("f") == form.key else None


def form_token_carry(form: Form, posted: str | None) -> tuple[str | None, float]:
    """The token for a re-rendered form and the seconds still to wait before sending.

    A valid posted token is handed back unchanged (the first render's time carries
    over); a post without a token (a hand-written form) gets none back, as it had none;
    anything else gets a fresh token.
    """
    if not posted:
        return None, 0.0
    data = form_token_read(form, posted)
    if data is None:
        token = form_token_issue(form)
        return token, float(form.min_fill_seconds)
    return posted, max(0.0, float(data["t"]) + form.min_fill_seconds - time.time())


def proof_of_work_ok(challenge: str, nonce: str, bits: int = DIFFICULTY_BITS) -> bool:
    digest = hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()
    value = int.from_bytes(digest, "big")
    return value >> (256 - bits) == 0


# Reasons a quick or slow person can also give: held as suspected, never silently dropped.
SOFT_REASONS = frozenset({"too fast", "expired time token"})


def spam_reason(
    form: Form, *, honeypot: str, token: str | None, pow_nonce: str, token_required: bool
) -> str:
    """Why this looks like a bot ('' when it looks like a person); see SOFT_REASONS."""
    if honeypot:
        return "honeypot"
    if token is None or token == "":
        return "missing time token" if token_required or form.proof_of_work else ""
    data = form_token_read(form, token)
    expired = data is None
    if expired:
        data = _expired_token_read(form, token)
        if data is None:
            return "invalid time token"
    # Hard signals first: a bot that is also quick is spam, not suspected.
    if form.proof_of_work and not proof_of_work_ok(str(data.get("c", "")), pow_nonce):
        return "proof of work"
    if expired:
        return "expired time token"
    if time.time() - float(data["t"]) < form.min_fill_seconds:
        return "too fast"
    return ""


def rate_limited(form: Form, ip: str | None) -> int:
    """Seconds to wait when the IP or the form is over its limit, else 0."""
    per_ip = settings.LEADFLOW_FORM_RATE_PER_IP
    wait = rate_limit_hit(f"form-ip:{form.pk}:{ip}", limit=per_ip, window_seconds=60) if ip else 0
    return wait or rate_limit_hit(
        f"form:{form.pk}", limit=settings.LEADFLOW_FORM_RATE_PER_FORM, window_seconds=60
    )
