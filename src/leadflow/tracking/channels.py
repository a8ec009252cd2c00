"""Channel classification of a visit from its UTM tags, ad click ids and referrer.

The built-in rules below are checked in order after a workspace's own rules (ChannelRule
rows, first match wins). They follow the common analytics conventions; docs/tracking.md
shows the table.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from leadflow.core.cache import cached
from leadflow.core.patterns import pattern_fullmatch
from leadflow.tracking.models import Channel, ChannelRule

SEARCH_ENGINES = re.compile(
    r"(^|\.)(google\.[a-z.]+|bing\.com|yahoo\.[a-z.]+|duckduckgo\.com|baidu\.com|"
    r"yandex\.[a-z.]+|ecosia\.org|search\.brave\.com|qwant\.com|startpage\.com|naver\.com)$"
)
SOCIAL_NETWORKS = re.compile(
    r"(^|\.)(facebook\.com|fb\.com|instagram\.com|t\.co|twitter\.com|x\.com|linkedin\.com|"
    r"lnkd\.in|reddit\.com|youtube\.com|pinterest\.[a-z.]+|tiktok\.com|threads\.net|"
    r"bsky\.app|mastodon\.social|vk\.com|xing\.com)$"
)
SOCIAL_SOURCES = re.compile(
    r"^(facebook|fb|instagram|ig|twitter|x|linkedin|reddit|youtube|pinterest|tiktok|"
    r"threads|bluesky|vk|xing|social)$",
    re.I,
)
WEBMAIL = re.compile(r"^(mail\.google\.com|outlook\.(live|office)\.com|mail\.yahoo\.com)$")

# (channel, medium pattern), checked against utm_medium in this order.
MEDIUM_RULES = [
    (
        Channel.PAID_SOCIAL,
        re.compile(r"^(paid[-_ ]?social|social[-_ ]?paid|cpm[-_ ]?social)$", re.I),
    ),
    (Channel.PAID_SEARCH, re.compile(r"^(cpc|ppc|paid[-_ ]?search|sem|paidsearch)$", re.I)),
    (
        Channel.ORGANIC_SOCIAL,
        re.compile(
            r"^(social|social[-_ ]?network|social[-_ ]?media|sm|"
            r"organic[-_ ]?social)$",
            re.I,
        ),
    ),
    (Channel.EMAIL, re.compile(r"^(e[-_ ]?mail|newsletter)$", re.I)),
    (Channel.DISPLAY, re.compile(r"^(display|banner|cpm|expandable|interstitial)$", re.I)),
    (Channel.AFFILIATE, re.compile(r"^(affiliate|affiliates|partner)$", re.I)),
    (Channel.REFERRAL, re.compile(r"^(referral|app|link)$", re.I)),
    (Channel.ORGANIC_SEARCH, re.compile(r"^organic$", re.I)),
]
PAID_CLICK_IDS = {
    "gclid": Channel.PAID_SEARCH,
    "msclkid": Channel.PAID_SEARCH,
    "li_fat_id": Channel.PAID_SOCIAL,
}


def workspace_rules(workspace_id: int) -> list:
    """The workspace's own channel rules in the order they are checked, kept a few seconds
    per process (core.cache): every batch of events and every contact touch asks."""
    return cached(
        "channel-rules",
        workspace_id,
        lambda: list(ChannelRule.objects.filter(workspace_id=workspace_id)),
    )


_TOUCH_CHANNELS: dict[tuple, str] = {}


def touch_channel(workspace_id: int, source: str, medium: str) -> str:
    """The channel of a touch known only by its source and medium (a contact created or
    updated through the API, an import or the app): the workspace's rules, then the
    built-in table, exactly as for a visit tagged utm_source=source, utm_medium=medium
    with no referrer. Registered with contacts in TrackingConfig.ready. Answers are kept
    per set of rules, so an import of many rows classifies each pair once."""
    rules = workspace_rules(workspace_id)
    rule_values = tuple(
        (rule.channel, rule.utm_source, rule.utm_medium, rule.referrer_domain, rule.click_id)
        for rule in rules
    )
    key = (workspace_id, rule_values, source, medium)
    channel = _TOUCH_CHANNELS.get(key)
    if channel is None:
        if len(_TOUCH_CHANNELS) >= 10_000:
            _TOUCH_CHANNELS.clear()
        utm = {"utm_source": source, "utm_medium": medium}
        channel = classify(
            utm=utm, click_ids={}, referrer="", landing_page="", workspace_rules=rules
        ).channel
        _TOUCH_CHANNELS[key] = channel
    return channel


@dataclass(frozen=True)
class Attribution:
    channel: str
    source: str
    medium: str
    campaign: str


def domain_of(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.lower().removeprefix("www.")


def classify(
    *,
    utm: dict[str, str],
    click_ids: dict[str, str],
    referrer: str,
    landing_page: str,
    workspace_rules: list | None = None,
) -> Attribution:
    """The channel, source, medium and campaign of a visit."""
    source = (utm.get("utm_source") or "").strip().lower()
    medium = (utm.get("utm_medium") or "").strip().lower()
    campaign = (utm.get("utm_campaign") or "").strip()
    referrer_domain = domain_of(referrer)
    if referrer_domain and referrer_domain == domain_of(landing_page):
        referrer_domain = ""  # moving within the site is not a referral
    for rule in workspace_rules or []:
        if _rule_matches(rule, source, medium, referrer_domain, click_ids):
            return _attribution(rule.channel, source, medium, campaign, referrer_domain)
    channel = _builtin(source, medium, referrer_domain, click_ids)
    return _attribution(channel, source, medium, campaign, referrer_domain)


def _builtin(source: str, medium: str, referrer_domain: str, click_ids: dict) -> str:
    if medium:
        for channel, pattern in MEDIUM_RULES:
            if pattern.match(medium):
                if channel == Channel.PAID_SEARCH and SOCIAL_SOURCES.match(source):
                    return Channel.PAID_SOCIAL
                return channel
    for name, channel in PAID_CLICK_IDS.items():
        if click_ids.get(name):
            return channel
    if click_ids.get("fbclid"):
        return Channel.ORGANIC_SOCIAL
    if source and SOCIAL_SOURCES.match(source):
        return Channel.ORGANIC_SOCIAL
    if medium or source:
        return Channel.OTHER
    if not referrer_domain:
        return Channel.DIRECT
    if WEBMAIL.match(referrer_domain):
        return Channel.EMAIL
    if SEARCH_ENGINES.search(referrer_domain):
        return Channel.ORGANIC_SEARCH
    if SOCIAL_NETWORKS.search(referrer_domain):
        return Channel.ORGANIC_SOCIAL
    return Channel.REFERRAL


def _attribution(
    channel: str, source: str, medium: str, campaign: str, referrer_domain: str
) -> Attribution:
    if not source:
        source = referrer_domain or "(direct)"
    if not medium:
        medium = {
            Channel.ORGANIC_SEARCH: "organic",
            Channel.REFERRAL: "referral",
            Channel.ORGANIC_SOCIAL: "social",
            Channel.EMAIL: "email",
            Channel.DIRECT: "(none)",
        }.get(channel, "(none)")
    return Attribution(
        channel=str(channel), source=source[:200], medium=medium[:200], campaign=campaign[:200]
    )


def _rule_matches(rule, source: str, medium: str, referrer_domain: str, click_ids: dict) -> bool:
    checks = (
        (rule.utm_source, source),
        (rule.utm_medium, medium),
        (rule.referrer_domain, referrer_domain),
    )
    for pattern, value in checks:
        if pattern and not pattern_fullmatch(pattern, value, ignore_case=True):
            return False
    return not (rule.click_id and not click_ids.get(rule.click_id))
