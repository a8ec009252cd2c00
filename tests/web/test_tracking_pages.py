"""Tracking pages: the sources report (numbers, ranges, chart), recent visitors and one
visitor, visits on the contact timeline, and form views and conversion on the forms list."""

import datetime as dt
import html
import re

import pytest
from django.core.cache import cache
from django.utils import timezone

from leadflow.capture import services as capture_services
from leadflow.contacts.models import Contact
from leadflow.contacts.services import note_add
from leadflow.tracking.models import VisitSession
from leadflow.web.charts import daily_bars, nice_ceiling
from tests.capture.conftest import PublicClient
from tests.web.conftest import url

from .tracking_data import form_views, visit, visitor

DAY = dt.timedelta(days=1)
XSS_URL = "https://www.acme-widgets.com/?q=<script>alert(1)</script>"


def days_ago(days: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def make_lead(make_contact, name, *, created, channel="", source="", medium="", campaign=""):
    contact = make_contact(first_name=name, email=f"{name.lower()}@example.org")
    Contact.objects.filter(pk=contact.pk).update(
        created_at=created,
        first_touch_channel=channel,
        first_touch_source=source,
        first_touch_medium=medium,
        first_touch_campaign=campaign,
    )
    return contact


def cells(response) -> dict[str, tuple[str, ...]]:
    """The report table as {group label: (visitors, became leads, rate, all new leads)}."""

    def text(markup: str) -> str:
        return html.unescape(re.sub(r"<[^>]+>", "", markup)).strip()

    table = response.content.decode().split('class="table sources-table"', 1)[1]
    body = table.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        label = text(re.search(r"<th[^>]*>(.*?)</th>", row, re.S).group(1))
        rows[label] = tuple(text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S))
    return rows


@pytest.fixture
def traffic(workspace, make_contact):
    """Five browsers and four leads over the last 50 days, with known channels."""
    v1, v2, v3, v4, v5 = (visitor(workspace) for _ in range(5))
    google_ads = {"channel": "paid_search", "source": "google", "medium": "cpc"}
    visit(workspace, v1, started_at=days_ago(2), **google_ads)
    visit(workspace, v1, started_at=days_ago(1), **google_ads)
    visit(workspace, v2, started_at=days_ago(3), channel="organic_search", source="bing")
    visit(workspace, v3, started_at=days_ago(5), campaign="spring", **google_ads)
    visit(workspace, v4, started_at=days_ago(40))
    visit(workspace, v5, started_at=days_ago(1), channel="email", source="newsletter")
    visit(workspace, v5, started_at=days_ago(1), campaign="spring", **google_ads)
    make_lead(make_contact, "Paid", created=days_ago(1), campaign="spring", **google_ads)
    make_lead(make_contact, "Organic", created=days_ago(3), channel="organic_search", source="bing")
    make_lead(make_contact, "Manual", created=days_ago(4))
    make_lead(make_contact, "Old", created=days_ago(50), channel="paid_search", source="google")


def report_url(workspace, query=""):
    return url(workspace, f"reports/sources/{query}")


class TestSourcesReport:
    def test_by_channel_over_the_last_30_days(self, owner_client, workspace, traffic):
        response = owner_client.get(report_url(workspace))
        assert response.status_code == 200
        assert cells(response) == {
            "Paid search": ("3", "0", "0%", "1"),
            "Organic search": ("1", "0", "0%", "1"),
            "Email": ("1", "0", "0%", "0"),
            "(none)": ("0", "0", "—", "1"),
        }
        page = response.content.decode()
        # Distinct visitors: v5 came through two channels but counts once in the total.
        assert 'data-kpi="visitors">4<' in page
        assert 'data-kpi="converted">0<' in page
        assert 'data-kpi="leads">3<' in page
        assert 'data-kpi="rate">0%<' in page

    def test_by_source_and_by_campaign(self, owner_client, workspace, traffic):
        by_source = owner_client.get(report_url(workspace, "?range=30&group=source"))
        assert cells(by_source) == {
            "google": ("3", "0", "0%", "1"),
            "bing": ("1", "0", "0%", "1"),
            "newsletter": ("1", "0", "0%", "0"),
            "(none)": ("0", "0", "—", "1"),
        }
        by_campaign = owner_client.get(report_url(workspace, "?range=30&group=campaign"))
        assert cells(by_campaign) == {
            "(none)": ("3", "0", "0%", "2"),
            "spring": ("2", "0", "0%", "1"),
        }
        assert 'aria-current="page">By campaign<' in by_campaign.content.decode()

    def test_the_rate_is_visitors_who_became_leads_per_visitor_never_over_100(
        self, owner_client, workspace, make_contact
    ):
        """Leads with no tracked visit (imports, the API) are all new leads, never divided
        by on-site visitors; a visit after the contact existed is no conversion."""
        google_ads = {"channel": "paid_search", "source": "google", "medium": "cpc"}
        visit(workspace, visitor(workspace), started_at=days_ago(3), **google_ads)
        converted = visitor(workspace)
        visit(workspace, converted, started_at=days_ago(2), **google_ads)
        lead = make_lead(make_contact, "Formfiller", created=days_ago(1.9), **google_ads)
        VisitSession.objects.filter(visitor=converted).update(contact=lead)
        customer = make_lead(make_contact, "Customer", created=days_ago(10))
        visit(workspace, visitor(workspace, contact=customer), started_at=days_ago(1), **google_ads)
        for index in range(4):
            make_lead(make_contact, f"Imported{index}", created=days_ago(5), **google_ads)
        response = owner_client.get(report_url(workspace))
        assert cells(response) == {
            "Paid search": ("3", "1", "33.3%", "5"),
            "(none)": ("0", "0", "—", "1"),
        }
        page = response.content.decode()
        assert 'data-kpi="converted">1<' in page and 'data-kpi="rate">33.3%<' in page
        assert 'data-kpi="leads">6<' in page
        assert "Became leads" in page and "never over 100%" in page

    def test_the_date_range_filters(self, owner_client, workspace, traffic):
        last_90 = cells(owner_client.get(report_url(workspace, "?range=90")))
        assert last_90["Direct"] == ("1", "0", "0%", "0")
        assert last_90["Paid search"] == ("3", "0", "0%", "2")
        last_7 = cells(owner_client.get(report_url(workspace, "?range=7")))
        assert "Direct" not in last_7
        today = timezone.localdate()
        first, last = today - 6 * DAY, today - 3 * DAY
        custom = owner_client.get(
            report_url(workspace, f"?range=custom&from={first}&to={last}&group=channel")
        )
        assert cells(custom) == {
            "Paid search": ("1", "0", "0%", "0"),
            "Organic search": ("1", "0", "0%", "1"),
            "(none)": ("0", "0", "—", "1"),
        }
        page = custom.content.decode()
        assert f'value="{first}"' in page and f'value="{last}"' in page
        # Switching the group keeps the range.
        assert f"range=custom&amp;from={first}&amp;to={last}&amp;group=source" in page

    @pytest.mark.parametrize(
        ("query", "message"),
        [
            ("?range=custom&from=2026-03-10&to=2026-03-01", "Must be on or after the first day."),
            ("?range=custom&from=yesterday&to=2026-03-01", "A date such as 2026-03-01."),
            ("?range=custom&from=2020-01-01&to=2026-03-01", "At most 366 days at a time."),
            ("?range=365", "Choose one of the listed ranges."),
        ],
    )
    def test_a_bad_range_says_why_and_shows_30_days(self, owner_client, workspace, query, message):
        response = owner_client.get(report_url(workspace, query))
        assert response.status_code == 200
        page = response.content.decode()
        assert message in page and "Showing the last 30 days instead." in page
        assert response.context["period"].days == 30

    def test_the_chart_is_an_accessible_svg_with_the_numbers_as_a_table(
        self, owner_client, workspace, traffic
    ):
        page = owner_client.get(report_url(workspace, "?range=7")).content.decode()
        svg = page.split('<svg class="chart"', 1)[1].split("</svg>", 1)[0]
        assert 'role="img" aria-labelledby="chart-title chart-desc"' in svg
        assert '<title id="chart-title">Visitors and leads per day' in svg
        assert '<desc id="chart-desc">5 visitors and 3 leads over 7 days' in svg
        assert svg.count('class="bar-visitors"') == 7 and svg.count('class="bar-leads"') == 7
        yesterday = timezone.localdate() - DAY
        assert f"{yesterday:%a, %b} {yesterday.day}: 2 visitors, 1 lead</title>" in svg
        table = page.split('class="chart-data"', 1)[1]
        assert f'<time datetime="{yesterday:%Y-%m-%d}">' in table
        assert "<script" not in svg

    def test_query_count_is_fixed(
        self, owner_client, workspace, traffic, django_assert_max_num_queries
    ):
        for index in range(20):
            who = visitor(workspace)
            visit(workspace, who, started_at=days_ago(index % 6), source=f"site{index}.example")
        # session, user, membership, the switcher, two grouped queries for the table, two
        # for the chart and one distinct count: the same whatever the traffic.
        with django_assert_max_num_queries(9):
            response = owner_client.get(report_url(workspace, "?range=90&group=source"))
        assert len(response.context["rows"]) > 20

    def test_viewers_may_read_it(self, client_for, workspace, traffic):
        client, _ = client_for("viewer")
        response = client.get(report_url(workspace))
        assert response.status_code == 200
        assert "your channel rules" not in response.content.decode()  # no settings link

    def test_untrusted_sources_are_escaped(self, owner_client, workspace):
        visit(workspace, visitor(workspace), started_at=days_ago(1), source="<img src=x>")
        page = owner_client.get(report_url(workspace, "?group=source")).content.decode()
        assert "&lt;img src=x&gt;" in page and "<img src=x>" not in page


class TestChart:
    def test_nice_ceiling(self):
        assert [nice_ceiling(n) for n in (0, 1, 2, 3, 7, 10, 11, 45, 101, 999)] == [
            1, 1, 2, 5, 10, 10, 20, 50, 200, 1000,
        ]  # fmt: skip

    def test_bars_share_one_scale(self):
        today = dt.date(2026, 3, 1)
        chart = daily_bars([(today, 40, 10), (today + DAY, 0, 0), (today + 2 * DAY, 20, 5)])
        top = chart.ticks[-1]
        assert top.value == 50
        first = chart.days[0]
        assert first.visitors_bar.height == pytest.approx(4 * first.leads_bar.height)
        assert chart.days[1].visitors_bar.height == 0
        assert first.visitors_bar.y + first.visitors_bar.height == pytest.approx(chart.baseline)
        assert first.leads_bar.x > first.visitors_bar.x
        assert chart.busiest.day == today

    def test_long_ranges_label_a_few_days(self):
        start = dt.date(2026, 1, 1)
        chart = daily_bars([(start + n * DAY, n, 0) for n in range(90)])
        assert 1 < len(chart.labels) <= 8
        assert len(chart.days) == 90


class TestVisitors:
    @pytest.fixture
    def people(self, workspace, contact):
        known = visitor(workspace, contact=contact, seen_at=days_ago(0.1))
        visit(
            workspace,
            known,
            started_at=days_ago(3),
            channel="paid_search",
            source="google",
            medium="cpc",
            pages=[XSS_URL, "https://www.acme-widgets.com/pricing"],
            utm_campaign='"><img src=x onerror=alert(1)>',
            referrer="https://www.google.com/",
        )
        visit(
            workspace,
            known,
            started_at=contact.created_at + dt.timedelta(minutes=1),
            channel="email",
            source="newsletter",
        )
        stranger = visitor(workspace, seen_at=days_ago(0.05))
        visit(
            workspace,
            stranger,
            started_at=days_ago(0.05),
            channel="referral",
            source="blog.example",
        )
        return known, stranger

    def test_list_with_first_source_and_contact(self, owner_client, workspace, contact, people):
        known, stranger = people
        response = owner_client.get(url(workspace, "visitors/"))
        assert response.status_code == 200
        rows = response.context["rows"]
        assert [row["visitor"].pk for row in rows] == [stranger.pk, known.pk]
        assert rows[1]["first"].source == "google"  # the first visit, not the latest
        assert rows[1]["visitor"].visits == 2
        page = response.content.decode()
        assert f'href="/w/{workspace.slug}/contacts/{contact.pk}/"' in page
        assert "anonymous" in page and "Paid search" in page and "Referral" in page

    def test_filter_identified_and_anonymous(self, owner_client, workspace, people):
        known, stranger = people
        identified = owner_client.get(url(workspace, "visitors/?show=identified"))
        assert [row["visitor"].pk for row in identified.context["rows"]] == [known.pk]
        anonymous = owner_client.get(url(workspace, "visitors/?show=anonymous"))
        assert [row["visitor"].pk for row in anonymous.context["rows"]] == [stranger.pk]
        assert 'aria-current="page">Anonymous<' in anonymous.content.decode()

    def test_visitor_page_shows_visits_and_pages_escaped(
        self, owner_client, workspace, contact, people
    ):
        known, _ = people
        response = owner_client.get(url(workspace, f"visitors/{known.pk}/"))
        assert response.status_code == 200
        page = response.content.decode()
        assert html.escape(XSS_URL, quote=False) in page
        assert "<script>alert(1)" not in page and "<img src=x" not in page
        assert "utm_campaign=&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
        assert "https://www.acme-widgets.com/pricing" in page
        assert "https://www.google.com/" in page
        assert f'Identified as <a href="/w/{workspace.slug}/contacts/{contact.pk}/">' in page
        assert page.count("before identification") == 1  # the visit three days ago
        assert 'href="https://www.google.com' not in page  # untrusted URLs are never links

    def test_another_workspaces_visitor_is_404(self, owner_client, other_workspace, workspace):
        theirs = visitor(other_workspace)
        assert owner_client.get(url(workspace, f"visitors/{theirs.pk}/")).status_code == 404
        assert owner_client.get(url(other_workspace, "visitors/")).status_code == 404

    def test_sales_see_only_their_own_leads_names(self, client_for, workspace, contact, people):
        client, _ = client_for("sales")
        page = client.get(url(workspace, "visitors/")).content.decode()
        assert str(contact) not in page and "Identified" in page
        known, _ = people
        detail = client.get(url(workspace, f"visitors/{known.pk}/")).content.decode()
        assert str(contact) not in detail and "a lead of another member" in detail

    def test_query_count_is_fixed(self, owner_client, workspace, django_assert_max_num_queries):
        for index in range(30):
            who = visitor(workspace)
            visit(workspace, who, started_at=days_ago(2), source=f"s{index}")
            visit(workspace, who, started_at=days_ago(1))
        # session, user, membership, the switcher, the visitors with their contacts and
        # visit counts, and their first visits.
        with django_assert_max_num_queries(6):
            response = owner_client.get(url(workspace, "visitors/"))
        assert len(response.context["rows"]) == 30
        assert {row["first"].source for row in response.context["rows"]} == {
            f"s{index}" for index in range(30)
        }
        who = response.context["rows"][0]["visitor"]
        with django_assert_max_num_queries(7):
            owner_client.get(url(workspace, f"visitors/{who.pk}/"))


class TestContactTimeline:
    def test_visits_are_interleaved_and_marked_before_identification(
        self, owner_client, workspace, contact
    ):
        known = visitor(workspace, contact=contact)
        visit(
            workspace,
            known,
            started_at=days_ago(2),
            channel="paid_search",
            source="google",
            medium="cpc",
            campaign="spring",
            pages=[
                XSS_URL,
                "https://www.acme-widgets.com/pricing",
                "https://www.acme-widgets.com/",
            ],
        )
        visit(workspace, known, started_at=contact.created_at + dt.timedelta(minutes=5))
        Contact.objects.filter(pk=contact.pk).update(
            first_touch_source="google",
            first_touch_medium="cpc",
            first_touch_campaign="spring",
            first_touch_channel="paid_search",
            last_touch_source="(direct)",
            last_touch_medium="(none)",
            last_touch_channel="direct",
        )
        whole = owner_client.get(url(workspace, f"contacts/{contact.pk}/")).content.decode()
        page = whole.split('id="timeline"', 1)[1]
        earlier = "Visited 3 pages from google / cpc (Paid search)"
        later = "Visited the site (Direct)"
        assert earlier in page and later in page
        assert page.count("before identification") == 1
        # Newest first: the later visit, then the contact's creation, then the earlier one.
        created = page.index("Contact created")
        assert page.index(later) < created < page.index(earlier)
        assert page.index("before identification") > created
        assert html.escape(XSS_URL, quote=False) in page and "<script>alert" not in page
        assert "Campaign: spring" in page
        attribution = whole.split('id="attribution"', 1)[1].split("</section>", 1)[0]
        assert "Paid search" in attribution and "google / cpc" in attribution
        assert "Direct" in attribution

    def test_older_visits_wait_for_the_older_page(
        self, owner_client, workspace, contact, owner_actor
    ):
        known = visitor(workspace, contact=contact)
        visit(workspace, known, started_at=days_ago(2), source="google", medium="cpc",
              channel="paid_search", pages=["https://www.acme-widgets.com/old-visit"])  # fmt: skip
        for index in range(55):
            note_add(
                workspace=workspace, contact_id=contact.pk, body=f"n{index}", actor=owner_actor
            )
        first = owner_client.get(url(workspace, f"contacts/{contact.pk}/")).content.decode()
        assert "old-visit" not in first
        link = html.unescape(re.search(r'href="([^"]+before=[^"]+)#timeline"', first).group(1))
        older = owner_client.get(link).content.decode()
        assert "old-visit" in older and "before identification" in older

    def test_another_workspaces_visits_never_show(
        self, owner_client, workspace, contact, other_workspace
    ):
        theirs = visitor(other_workspace)
        session = visit(other_workspace, theirs, started_at=days_ago(1), pages=["https://x/secret"])
        VisitSession.objects.filter(pk=session.pk).update(contact_id=contact.pk)  # a stray id
        page = owner_client.get(url(workspace, f"contacts/{contact.pk}/")).content.decode()
        assert "secret" not in page

    def test_query_count_stays_pinned(
        self, owner_client, workspace, contact, owner_actor, django_assert_max_num_queries
    ):
        known = visitor(workspace, contact=contact)
        for index in range(10):
            pages = [f"https://www.acme-widgets.com/{index}/{n}" for n in range(3)]
            visit(workspace, known, started_at=days_ago(index + 1), pages=pages)
        for index in range(20):
            note_add(
                workspace=workspace, contact_id=contact.pk, body=f"n{index}", actor=owner_actor
            )
        # The contact page's pin (tests/web/test_contact_page.py, which counts the visits
        # query) plus one for the visits' pages, whatever their number.
        # 13, the Score panel's four (fit rules with their matches, the scoring profile,
        # the points ledger with its rules, the prediction), the Assignments panel's three and
        # the Follow-ups panel's four, the suppression list's and the sequences' (nurture)
        # and the Consent section's three (latest row per purpose, purposes, the history).
        with django_assert_max_num_queries(29):
            response = owner_client.get(url(workspace, f"contacts/{contact.pk}/"))
        assert response.content.decode().count("Visited 3 pages") == 10


class TestFormsList:
    @pytest.fixture(autouse=True)
    def _clear_rate_limits(self):
        cache.clear()

    def test_conversion_is_viewers_who_sent_it_per_viewer_never_over_100(
        self, owner_client, workspace, owner_actor
    ):
        """Submissions from pages without the tracker have no view: they count as
        submissions, never as conversions of the views (that gave 300 %)."""
        fields = [{"name": "email", "type": "email", "maps_to": "email", "required": True}]
        demo = capture_services.form_create(
            workspace=workspace,
            actor=owner_actor,
            data={"name": "Book a demo", "fields": fields, "min_fill_seconds": 0},
        )
        quiet = capture_services.form_create(
            workspace=workspace,
            actor=owner_actor,
            data={
                "name": "Quiet",
                "fields": [{"name": "email", "type": "email", "maps_to": "email"}],
            },
        )
        sender, looker, earlier = visitor(workspace), visitor(workspace), visitor(workspace)
        form_views(workspace, demo.key, 1, by=sender)
        form_views(workspace, demo.key, 2, by=looker)
        form_views(workspace, demo.key, 25, at=days_ago(9), by=earlier)  # over 7 days ago
        form_views(workspace, "some-other-key", 5, by=looker)
        public = PublicClient(demo)
        for index in range(3):  # the hosted page: no tracker, no view
            public.submit({"email": f"lead{index}@initech.com"})
        for who in (sender, earlier):
            context = {"page_url": "https://www.acme-widgets.com/", "visitor_id": who.visitor_key}
            public.submit({"email": f"{who.visitor_key}@initech.com"}, context=context)
        response = owner_client.get(url(workspace, "forms/"))
        rows = {row["form"].pk: row for row in response.context["rows"]}
        assert rows[demo.pk]["stats"].last_7_days == 5
        demo_row = tuple(rows[demo.pk][key] for key in ("views", "viewers", "converted"))
        assert demo_row == (3, 2, 1)
        assert rows[demo.pk]["conversion"] == 50
        assert (rows[quiet.pk]["views"], rows[quiet.pk]["conversion"]) == (0, None)
        page = response.content.decode()
        assert '<span title="1 of 2 visitors who saw it sent it">50%</span>' in page
        assert 'data-col="views"><span class="muted" title="No views recorded yet">—' in page
        assert "never over 100%" in page and "Per day (7 days)" in page
