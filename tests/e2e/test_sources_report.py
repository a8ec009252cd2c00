"""The Sources report in Chromium on the demo workspace, at 1440 and 390 px: every
conversion rate is at most 100 % (the demo's imported and API leads used to be divided by
on-site visitors: 175 %, 183 %), each figure says what it counts, nothing scrolls sideways.
Screenshots go to /tmp/leadflow-sources-<width>.png."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_tracking_pages import demo, log_in  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _rates(page) -> list[float]:
    texts = page.locator("table.sources-table tbody tr td:nth-child(4)").all_inner_texts()
    kpi = page.locator("[data-kpi='rate']").inner_text()
    return [float(text.rstrip("%")) for text in [*texts, kpi] if text.strip() not in ("—", "")]


@pytest.mark.parametrize("width", [1440, 390])
def test_the_sources_report_never_shows_a_rate_over_100_percent(page, demo, width):  # noqa: F811
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page)
    for query in ("?range=90&group=channel", "?range=90&group=source", "?range=30"):
        page.goto(f"/w/demo/reports/sources/{query}")
        expect(page.get_by_role("heading", name="Sources", level=1)).to_be_visible()
        rates = _rates(page)
        assert rates and max(rates) <= 100, (query, rates)
        header = page.get_by_role("columnheader", name="Became leads")
        expect(header.locator("abbr")).to_have_attribute("title", re.compile("became a lead"))
        expect(page.get_by_role("columnheader", name="All new leads")).to_be_visible()
        # The leads of imports and the API are counted, not divided by visitors.
        leads = int(page.locator("[data-kpi='leads']").inner_text())
        converted = int(page.locator("[data-kpi='converted']").inner_text())
        assert leads > converted
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{query} scrolls sideways by {overflow} px at {width} px"
        hidden = page.evaluate(
            "(() => { const wrap = document.querySelector('.sources-table').parentElement;"
            " return wrap.scrollWidth - wrap.clientWidth; })()"
        )
        assert hidden <= 0, f"{query}: {hidden} px of the table hidden at {width} px"
    page.goto("/w/demo/reports/sources/?range=90")
    page.screenshot(path=f"/tmp/leadflow-sources-{width}.png", full_page=True)
    assert page.javascript_errors == []
