"""The channel rule table (docs/tracking.md shows it)."""

import pytest

from leadflow.tracking.channels import classify
from leadflow.tracking.models import ChannelRule

SITE = "https://www.acme-widgets.com/landing"


@pytest.mark.parametrize(
    ("utm", "click_ids", "referrer", "channel", "source", "medium"),
    [
        ({"utm_source": "google", "utm_medium": "cpc"}, {}, "", "paid_search", "google", "cpc"),
        ({"utm_source": "facebook", "utm_medium": "cpc"}, {}, "", "paid_social", "facebook", "cpc"),
        (
            {"utm_source": "linkedin", "utm_medium": "paid_social"},
            {},
            "",
            "paid_social",
            "linkedin",
            "paid_social",
        ),
        (
            {"utm_source": "twitter", "utm_medium": "social"},
            {},
            "",
            "organic_social",
            "twitter",
            "social",
        ),
        (
            {"utm_source": "newsletter", "utm_medium": "email"},
            {},
            "",
            "email",
            "newsletter",
            "email",
        ),
        ({"utm_source": "gdn", "utm_medium": "display"}, {}, "", "display", "gdn", "display"),
        (
            {"utm_source": "partnerx", "utm_medium": "affiliate"},
            {},
            "",
            "affiliate",
            "partnerx",
            "affiliate",
        ),
        (
            {"utm_source": "weird", "utm_medium": "carrier-pigeon"},
            {},
            "",
            "other",
            "weird",
            "carrier-pigeon",
        ),
        (
            {},
            {"gclid": "x"},
            "https://www.google.com/",
            "paid_search",
            "www.google.com".removeprefix("www."),
            "(none)",
        ),
        ({}, {"msclkid": "x"}, "", "paid_search", "(direct)", "(none)"),
        ({}, {"li_fat_id": "x"}, "", "paid_social", "(direct)", "(none)"),
        (
            {},
            {"fbclid": "x"},
            "https://l.facebook.com/",
            "organic_social",
            "l.facebook.com",
            "social",
        ),
        ({}, {}, "https://www.google.de/search?q=leads", "organic_search", "google.de", "organic"),
        ({}, {}, "https://duckduckgo.com/", "organic_search", "duckduckgo.com", "organic"),
        ({}, {}, "https://t.co/abc", "organic_social", "t.co", "social"),
        ({}, {}, "https://www.linkedin.com/feed/", "organic_social", "linkedin.com", "social"),
        ({}, {}, "https://mail.google.com/", "email", "mail.google.com", "email"),
        ({}, {}, "https://blog.example.org/post", "referral", "blog.example.org", "referral"),
        ({}, {}, "https://www.acme-widgets.com/other", "direct", "(direct)", "(none)"),
        ({}, {}, "", "direct", "(direct)", "(none)"),
    ],
)
def test_builtin_rules(utm, click_ids, referrer, channel, source, medium):
    result = classify(utm=utm, click_ids=click_ids, referrer=referrer, landing_page=SITE)
    assert (result.channel, result.source, result.medium) == (channel, source, medium)


def test_workspace_rules_come_first(workspace):
    rule = ChannelRule.objects.create(
        workspace=workspace, channel="affiliate", utm_source=r"partner-.*", utm_medium="cpc"
    )
    result = classify(
        utm={"utm_source": "partner-17", "utm_medium": "cpc"},
        click_ids={},
        referrer="",
        landing_page=SITE,
        workspace_rules=[rule],
    )
    assert result.channel == "affiliate"
    other = classify(
        utm={"utm_source": "google", "utm_medium": "cpc"},
        click_ids={},
        referrer="",
        landing_page=SITE,
        workspace_rules=[rule],
    )
    assert other.channel == "paid_search"
