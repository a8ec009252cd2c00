"""Open and click tracking in marketing email (docs/nurture/tracking.md): the signed
tokens of the open pixel and of tracked links, the rewriting of an email's HTML part, the
rule that tells a security scanner's hit from a person's, and the ``lf_c`` token a click
passes to the workspace's own sites.

Like the unsubscribe links (``nurture.links``) a token carries everything its public
endpoint needs, signed with the site's secret under its own salt (one for opens, one for
clicks): ``/t/o/<token>.gif`` names (workspace, delivery); ``/t/c/<token>/`` names
(workspace, delivery, the link's address). The redirect goes only to an address that was
signed: an altered token is refused (404), so the endpoint is never an open redirect.
"""

import html
import re
from dataclasses import dataclass, replace
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core import signing

from leadflow.core.notifications import link_base

OPEN_SALT = "leadflow.nurture.track.open"
CLICK_SALT = "leadflow.nurture.track.click"
OPEN_PATH = "/t/o/"  # nurture.public_urls: /t/o/<token>.gif
CLICK_PATH = "/t/c/"  # nurture.public_urls: /t/c/<token>/
MAX_URL = 2000
# A link whose <a> tag carries this attribute is left as it is (an address a reader
# should see, a link that must not go through a redirect).
NO_TRACK = "data-lf-notrack"


@dataclass(frozen=True)
class Tracked:
    """What a tracking token names (``url`` empty for the open pixel)."""

    workspace_id: int
    delivery_id: int
    url: str = ""


# Signer, not signing.dumps: no timestamp (the links do not expire), and half the time of
# a send's rewrite (bench_send). Made per use, so a SECRET_KEY_FALLBACKS rotation applies.
def open_token(workspace_id: int, delivery_id: int, signer: signing.Signer | None = None) -> str:
    return (signer or signing.Signer(salt=OPEN_SALT)).sign_object([workspace_id, delivery_id])


def click_token(
    workspace_id: int, delivery_id: int, url: str, signer: signing.Signer | None = None
) -> str:
    signer = signer or signing.Signer(salt=CLICK_SALT)
    return signer.sign_object([workspace_id, delivery_id, url])


def _read(token: str, salt: str, size: int) -> list | None:
    if not isinstance(token, str) or not token or len(token) > 4 * MAX_URL:
        return None
    try:
        payload = signing.Signer(salt=salt).unsign_object(token)
    except (signing.BadSignature, ValueError, UnicodeError):
        return None
    if (
        not isinstance(payload, list)
        or len(payload) != size
        or not all(isinstance(part, int) and not isinstance(part, bool) for part in payload[:2])
    ):
        return None
    return payload


def open_read(token: str) -> Tracked | None:
    """The delivery an open token names, or None (altered, or not ours)."""
    payload = _read(token, OPEN_SALT, 2)
    return Tracked(payload[0], payload[1]) if payload else None


def click_read(token: str) -> Tracked | None:
    """The delivery and address a click token names, or None (altered, not ours, or an
    address that is not http(s): the redirect only ever goes where a sender signed)."""
    payload = _read(token, CLICK_SALT, 3)
    if payload is None or not isinstance(payload[2], str) or not trackable(payload[2]):
        return None
    return Tracked(payload[0], payload[1], payload[2])


def trackable(url: str) -> bool:
    """An http(s) address with a host, short enough, with no control characters."""
    if len(url) > MAX_URL or any(ord(character) < 32 for character in url):
        return False
    parts = urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


# --- the email's HTML part ------------------------------------------------------------------

ANCHOR = re.compile(r"<a\b[^>]*>", re.IGNORECASE)
HREF = re.compile(r"""(\bhref\s*=\s*)(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


class HtmlTracker:
    """Rewrites a delivery's HTML part: each http(s) link through ``/t/c/<token>/`` (not
    LeadFlow's own unsubscribe and tracking links, not ``mailto:`` or ``tel:``, not a tag
    marked ``data-lf-notrack``) and the open pixel at the end of the body. One per batch:
    the base address is worked out once."""

    def __init__(self, base_url: str = ""):
        self.base = link_base(base_url)
        self.own = (f"{self.base}/u/", f"{self.base}/t/")
        self.clicks = signing.Signer(salt=CLICK_SALT)
        self.opens = signing.Signer(salt=OPEN_SALT)

    def rewrite(self, body: str, *, workspace_id: int, delivery_id: int) -> str:
        def anchor(match: re.Match) -> str:
            tag = match.group(0)
            if NO_TRACK in tag.lower():
                return tag
            return HREF.sub(link, tag, count=1)

        def link(match: re.Match) -> str:
            raw = match.group(2) if match.group(2) is not None else match.group(3)
            url = html.unescape(raw).strip()
            if not trackable(url) or url.startswith(self.own):
                return match.group(0)
            token = click_token(workspace_id, delivery_id, url, self.clicks)
            return f'{match.group(1)}"{self.base}{CLICK_PATH}{token}/"'

        tracked = ANCHOR.sub(anchor, body)
        token = open_token(workspace_id, delivery_id, self.opens)
        pixel = (
            f'<img src="{self.base}{OPEN_PATH}{token}.gif" '
            'width="1" height="1" alt="" style="display:block;border:0;width:1px;height:1px">'
        )
        ends = list(BODY_END.finditer(tracked))
        if ends:
            at = ends[-1].start()
            return f"{tracked[:at]}{pixel}{tracked[at:]}"
        return tracked + pixel

    def apply(self, rendered, *, workspace_id: int, delivery_id: int):
        """A rendered email (``services.rendering.Rendered``) with its HTML part rewritten;
        the plain-text part keeps the original addresses (readable, not tracked)."""
        html_part = self.rewrite(rendered.html, workspace_id=workspace_id, delivery_id=delivery_id)
        return replace(rendered, html=html_part)


# --- who followed the link -------------------------------------------------------------------

# Security gateways, link checkers and preview fetchers that follow every link of a
# message (docs/nurture/tracking.md lists them). Mail clients' image proxies (Gmail's
# GoogleImageProxy, Yahoo's) fetch when a person opens: not filtered.
SCANNER_AGENTS = re.compile(
    r"bot\b|bot/|crawl|spider|scan|preview|barracuda|mimecast|proofpoint|urldefense|"
    r"messagelabs|symantec|forcepoint|fortiguard|trendmicro|sophos|ironport|safelinks|"
    r"existence discovery|python|curl|wget|go-http-client|java/|okhttp|libwww|httpclient|"
    r"headless|phantomjs|slackbot|facebookexternalhit|whatsapp",
    re.IGNORECASE,
)


def scanner_reason(*, method: str, user_agent: str, handed_at, now) -> str:
    """Why a hit is a machine's, not a person's ("" when it counts): a HEAD request, no
    user agent, a known scanner's user agent, or a hit within
    ``LEADFLOW_CLICK_SCANNER_SECONDS`` of the email's hand-over to the mail server (no
    person reads that fast; a gateway scanning the message on its way does)."""
    if method == "HEAD":
        return "HEAD request"
    agent = (user_agent or "").strip()
    if not agent:
        return "no user agent"
    found = SCANNER_AGENTS.search(agent)
    if found:
        return f"scanner user agent ({found.group(0).strip().lower()})"
    soon = settings.LEADFLOW_CLICK_SCANNER_SECONDS
    if handed_at is not None and soon and (now - handed_at).total_seconds() < soon:
        return f"within {soon} s of hand-over"
    return ""


def with_contact_token(url: str, token: str, origins: list[str]) -> str:
    """``url`` with ``lf_c=<token>`` added to its query when it leads to one of the
    workspace's own sites (``Workspace.allowed_origins``): the tracker there (lf.js) links
    the browser to the person (docs/tracking.md, Identity). Other sites never see it."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    if not token or origin not in origins:
        return url
    query = f"{parts.query}&lf_c={token}" if parts.query else f"lf_c={token}"
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
