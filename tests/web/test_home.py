"""The home page per role: every count from data built through the real services, each
linking to the list it counts (and that list showing the same number), the getting-started
checklist ticking itself, its dismissal, own-leads visibility, tenancy and query counts."""

import datetime as dt
import json
import re
import uuid
from html import unescape
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from leadflow.capture import services as capture_services
from leadflow.contacts import services as contact_services
from leadflow.core.actors import Actor
from leadflow.core.models import HomeState, Membership
from leadflow.core.services import home_visit_record
from leadflow.deals import services as deal_services
from leadflow.imports.run import import_job_run
from leadflow.imports.services import import_job_create
from leadflow.sales.models import FirstTouch, Trigger
from leadflow.sales.services import (
    assignment_rule_create,
    call_log,
    followup_create,
    lead_route,
    team_create,
    team_member_add,
)
from leadflow.sales.subscribers import activities_touch
from leadflow.tracking.services import events_ingest
from tests.web.conftest import url

pytestmark = pytest.mark.django_db

FIELDS = [{"name": "email", "type": "email", "label": "Email", "required": True}]
GB_ONLY = {
    "version": 1,
    "match": "all",
    "children": [{"field": "country", "operator": "eq", "value": "GB"}],
}


def tile(html: str, key: str) -> tuple[int, str]:
    """The number and link of the tile ``data-count=key``."""
    found = re.search(
        rf'<a class="home-tile[^"]*" href="([^"]*)" data-count="{key}" data-value="(\d+)"', html
    )
    assert found, f"no tile {key}"
    return int(found.group(2)), unescape(found.group(1))


def listed_total(client, link: str) -> int:
    """How many contacts the contacts list at ``link`` says it shows."""
    page = client.get(link)
    assert page.status_code == 200
    return page.context["total"]


def conditions_of(link: str) -> dict:
    return json.loads(parse_qs(urlsplit(link).query)["conditions"][0])


@pytest.fixture
def sales_floor(workspace, owner_actor, client_for, make_contact):
    """Sam (sales, sees only own leads) gets GB leads at once with a 15-minute deadline and
    is EMEA's only member, away, so the other leads wait in EMEA's queue. Pat (sales) owns
    one hot lead of his own."""
    client, sam = client_for("sales", "sam@acme-widgets.com")
    _, pat = client_for("sales", "pat@acme-widgets.com")
    team = team_create(workspace=workspace, name="EMEA", actor=owner_actor)
    team_member_add(
        workspace=workspace,
        team_id=team.pk,
        user_id=sam.user_id,
        actor=owner_actor,
        settings={"away": True},
    )
    assignment_rule_create(
        workspace=workspace,
        data={
            "name": "GB to Sam",
            "strategy": "fixed_person",
            "owner_id": sam.user_id,
            "conditions": GB_ONLY,
            "first_touch_minutes": 15,
            "first_touch_business_hours": False,
        },
        actor=owner_actor,
    )
    assignment_rule_create(
        workspace=workspace,
        data={"name": "Rest", "strategy": "round_robin", "team_id": team.pk},
        actor=owner_actor,
    )
    now = timezone.now()
    two_days_ago = now - dt.timedelta(days=2)
    old = make_contact(email="old@example.org", first_name="Old", country="GB")
    lead_route(workspace=workspace, contact_id=old.pk, trigger=Trigger.MQL, now=two_days_ago)
    fresh = make_contact(email="fresh@example.org", first_name="Fresh", country="GB")
    hot = make_contact(email="hot@example.org", first_name="Hot", country="GB", temperature="hot")
    for lead in (fresh, hot):
        lead_route(workspace=workspace, contact_id=lead.pk, trigger=Trigger.CREATED)
    queued = [make_contact(email=f"q{n}@example.org", first_name=f"Q{n}") for n in range(2)]
    for lead in queued:
        lead_route(workspace=workspace, contact_id=lead.pk, trigger=Trigger.CREATED)
    make_contact(email="pats@example.org", temperature="hot", owner_id=pat.user_id)
    sam_actor = Actor.for_user(sam.user, sam)
    followup_create(
        workspace=workspace,
        contact_id=old.pk,
        data={"title": "Call back", "due_at": (now - dt.timedelta(hours=1)).isoformat()},
        actor=sam_actor,
        now=now - dt.timedelta(hours=2),
    )
    followup_create(
        workspace=workspace,
        contact_id=fresh.pk,
        data={"title": "Send the deck", "due_at": (now + dt.timedelta(seconds=30)).isoformat()},
        actor=sam_actor,
    )
    this_month = timezone.localdate().isoformat()
    for title, close, owner in (
        ("Closing", this_month, sam.user_id),
        ("Later", (timezone.localdate() + dt.timedelta(days=62)).isoformat(), sam.user_id),
        ("Pat's", this_month, pat.user_id),
    ):
        deal_services.deal_create(
            workspace=workspace,
            actor=owner_actor,
            values={"title": title, "expected_close_date": close, "owner_id": owner},
        )
    return {
        "client": client,
        "sam": sam,
        "team": team,
        "old": old,
        "fresh": fresh,
        "hot": hot,
        "two_days_ago": two_days_ago,
    }


def test_a_salespersons_home_counts_her_work_and_links_to_each_list(workspace, sales_floor):
    client = sales_floor["client"]
    page = client.get(url(workspace))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-block="my-work"' in html
    assert 'data-block="marketing"' not in html and 'data-block="team"' not in html
    assert 'data-block="checklist"' not in html

    new, new_link = tile(html, "new")
    assert new == 2  # fresh and hot, given today; old was given two days ago
    assert listed_total(client, new_link) == 2
    assert conditions_of(new_link)["children"][0] == {
        "field": "owner",
        "operator": "eq",
        "value": "me",
    }
    hot, hot_link = tile(html, "hot")
    assert hot == 1 and listed_total(client, hot_link) == 1  # Pat's hot lead is not hers
    late, late_link = tile(html, "first_touch_overdue")
    assert late == 1 and listed_total(client, late_link) == 1
    assert listed_total(client, tile(html, "open")[1]) == tile(html, "open")[0] == 3

    overdue, overdue_link = tile(html, "followups_overdue")
    assert overdue == 1 and overdue_link == url(workspace, "followups/?due=overdue")
    today, today_link = tile(html, "followups_today")
    assert today == 1 and today_link == url(workspace, "followups/?due=today")
    tabs = {name: count for name, _, count, _ in client.get(overdue_link).context["tabs"]}
    assert (tabs["overdue"], tabs["today"]) == (1, 1)

    closing, closing_link = tile(html, "deals_closing")
    assert closing == 1
    deals_page = client.get(closing_link)
    assert [deal.title for deal in deals_page.context["page"].items] == ["Closing"]

    team = sales_floor["team"]
    waiting, queue_link = tile(html, f"queue_{team.pk}")
    assert waiting == 2 and queue_link == url(workspace, f"queue/?team={team.pk}")
    assert len(client.get(queue_link).context["page"].items) == 2


def test_new_leads_count_from_the_last_visit_on_an_earlier_day(workspace, sales_floor):
    client, sam = sales_floor["client"], sales_floor["sam"]
    earlier = sales_floor["two_days_ago"] - dt.timedelta(hours=1)
    home_visit_record(membership=sam, day_start=earlier, now=earlier)  # a visit before "old"
    sam.user.time_zone = "America/New_York"
    sam.user.save(update_fields=["time_zone"])
    page = client.get(url(workspace))
    html = page.content.decode()
    assert tile(html, "new")[0] == 3
    # The time is shown in the zone it names (it was UTC under the zone's name).
    zone = page.context["zone_name"]
    shown = earlier.astimezone(ZoneInfo(zone))
    assert f"given to you since {shown:%b} {shown.day}, {shown:%H:%M} ({zone})" in html
    assert zone != "UTC"  # the check means something only in another zone
    reloaded = client.get(url(workspace)).content.decode()
    assert tile(reloaded, "new")[0] == 3  # reloading today does not empty the count
    state = HomeState.objects.get(membership=sam)
    assert state.previous_visit_at == earlier and state.visited_at > earlier


def test_a_touch_stops_counting_the_first_touch_as_overdue(workspace, sales_floor):
    client, sam = sales_floor["client"], sales_floor["sam"]
    touch = call_log(
        workspace=workspace,
        contact_id=sales_floor["old"].pk,
        outcome="connected",
        actor=Actor.for_user(sam.user, sam),
    )
    activities_touch([touch])  # what the worker's delivery to sales does
    html = client.get(url(workspace)).content.decode()
    assert tile(html, "first_touch_overdue")[0] == 0


def test_a_salesperson_who_sees_all_leads_still_sees_only_her_own_numbers(
    workspace, sales_floor, owner_actor
):
    from leadflow.core.services import workspace_update

    workspace_update(workspace=workspace, actor=owner_actor, sales_sees_all_leads=True)
    html = sales_floor["client"].get(url(workspace)).content.decode()
    assert tile(html, "hot")[0] == 1 and tile(html, "open")[0] == 3


def test_the_owner_sees_the_team_and_marketing_blocks_and_my_work_once_owning_leads(
    workspace, owner, owner_client, owner_actor, sales_floor, make_contact
):
    html = owner_client.get(url(workspace)).content.decode()
    assert 'data-block="team"' in html and 'data-block="marketing"' in html
    assert 'data-block="my-work"' not in html  # owns no lead yet
    routed = FirstTouch.objects.filter(workspace=workspace).count()
    assert routed == 5  # old, fresh, hot and the two queued
    assert re.search(rf'data-count="speed_leads">{routed}<', html)
    make_contact(email="mine@example.org", owner_id=owner.pk)
    html = owner_client.get(url(workspace)).content.decode()
    assert 'data-block="my-work"' in html and tile(html, "open")[0] == 1


def test_the_owners_pipeline_is_weighted_by_probability(
    workspace, owner_client, owner_actor, make_contact
):
    for title, amount, probability in (("A", "1000", 10), ("B", "500", 50)):
        deal_services.deal_create(
            workspace=workspace,
            actor=owner_actor,
            values={"title": title, "amount": amount, "probability": probability},
        )
    html = owner_client.get(url(workspace)).content.decode()
    assert re.search(r'data-count="pipeline_deals">2<', html)
    assert re.search(r'data-count="pipeline_weighted">350.00<', html)
    assert f'href="{url(workspace, "deals/?status=open")}"' in html


def test_a_marketers_home_counts_todays_leads_by_channel_mqls_and_imports(
    workspace, client_for, make_contact, owner_actor, tmp_path
):
    client, _ = client_for("marketer")
    make_contact(email="a@example.org", lifecycle_stage="mql")
    make_contact(email="b@example.org", lifecycle_stage="mql")
    make_contact(email="c@example.org")
    path = tmp_path / "list.csv"
    path.write_text("email\n" + "".join(f"r{n}@example.org\n" for n in range(30)))
    job = import_job_create(workspace=workspace, actor=owner_actor, path=path, filename="list.csv")
    page = client.get(url(workspace))
    html = page.content.decode()
    assert 'data-block="marketing"' in html and 'data-block="team"' not in html
    assert 'data-block="my-work"' not in html
    today = page.context["marketing"]["today"]
    assert today["total"] == 3
    assert [(row.label, row.value) for row in today["channels"]] == [("No channel known", 3)]
    assert listed_total(client, today["channels"][0].url) == 3
    assert listed_total(client, today["url"]) == 3
    mql, mql_link = tile(html, "mql")
    assert mql == 2 and mql_link == url(workspace, "mql/")
    assert len(client.get(mql_link).context["leads"]) == 2
    assert f'data-import="{job.pk}"' in html  # queued
    import_job_run(job_id=job.pk)
    assert f'data-import="{job.pk}"' not in client.get(url(workspace)).content.decode()


def test_form_conversion_counts_viewers_who_sent_the_form(workspace, client_for, owner_actor):
    client, _ = client_for("marketer")
    form = capture_services.form_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Book a demo", "fields": FIELDS, "min_fill_seconds": 0},
    )
    now = timezone.now().isoformat()
    events_ingest(
        workspace=workspace,
        batch={
            "events": [
                {
                    "id": str(uuid.uuid4()),
                    "type": "form_view",
                    "name": form.key,
                    "ts": now,
                    "visitor_id": f"visitor-000{n}",
                    "session_id": f"session-000{n}",
                }
                for n in range(4)
            ]
        },
    )
    page = client.get(url(workspace))
    (row,) = page.context["marketing"]["forms"]
    assert (row.form_id, row.views.viewers, row.views.converted) == (form.pk, 4, 0)
    assert f'data-count="form_{form.pk}">0.0%<' in page.content.decode()


def test_a_viewer_sees_a_read_only_summary(workspace, client_for, make_contact, owner_actor):
    client, _ = client_for("viewer")
    make_contact(email="a@example.org", lifecycle_stage="mql")
    make_contact(email="b@example.org")
    deal_services.deal_create(workspace=workspace, actor=owner_actor, values={"title": "X"})
    html = client.get(url(workspace)).content.decode()
    assert 'data-block="summary"' in html
    for block in ("my-work", "marketing", "team", "checklist"):
        assert f'data-block="{block}"' not in html
    assert tile(html, "contacts")[0] == 2 and tile(html, "today")[0] == 2
    assert tile(html, "mql")[0] == 1 and tile(html, "deals")[0] == 1
    assert listed_total(client, tile(html, "mql")[1]) == 1
    assert '<form method="post"' not in html.split("<main")[1]


def test_the_checklist_ticks_itself_item_by_item_and_goes_when_all_are_done(
    workspace, owner_client, owner_actor, make_member, tmp_path
):
    def done() -> dict[str, bool]:
        page = owner_client.get(url(workspace))
        items = page.context.get("checklist")
        return None if items is None else {item.key: item.done for item in items}

    assert done() == dict.fromkeys(("tracker", "form", "import", "team", "routing"), False)
    html = owner_client.get(url(workspace)).content.decode()
    for link in ("settings/tracking/", "forms/new/", "contacts/imports/", "settings/members/"):
        assert f'href="{url(workspace, link)}"' in html
    events_ingest(
        workspace=workspace,
        batch={
            "events": [
                {
                    "id": str(uuid.uuid4()),
                    "type": "pageview",
                    "ts": timezone.now().isoformat(),
                    "visitor_id": "visitor-0001",
                    "session_id": "session-0001",
                }
            ]
        },
    )
    assert done()["tracker"] is True and done()["form"] is False
    capture_services.form_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Demo", "fields": FIELDS},
    )
    assert done()["form"] is True
    path = tmp_path / "list.csv"
    path.write_text("email\nr@example.org\n")
    job = import_job_create(workspace=workspace, actor=owner_actor, path=path, filename="list.csv")
    assert done()["import"] is False  # queued is not finished
    import_job_run(job_id=job.pk)
    assert done()["import"] is True
    make_member("marketer")
    assert done()["team"] is True
    rule = assignment_rule_create(
        workspace=workspace,
        data={"name": "All", "strategy": "fixed_person", "owner_id": owner_actor.user_id},
        actor=owner_actor,
    )
    from leadflow.sales.services import assignment_rule_update

    assignment_rule_update(
        workspace=workspace, rule_id=rule.pk, data={"enabled": False}, actor=owner_actor
    )
    assert done()["routing"] is False  # a disabled rule routes nothing
    assignment_rule_update(
        workspace=workspace, rule_id=rule.pk, data={"enabled": True}, actor=owner_actor
    )
    assert done() is None  # all five done: the checklist is gone


def test_the_checklist_can_be_dismissed_for_that_member(
    workspace, owner_client, owner, make_member
):
    assert "checklist" in owner_client.get(url(workspace)).context
    answer = owner_client.post(url(workspace, "home/checklist/dismiss/"))
    assert answer.status_code == 302 and answer["Location"] == url(workspace)
    assert "checklist" not in owner_client.get(url(workspace)).context
    state = HomeState.objects.get(membership__user=owner)
    first = state.checklist_dismissed_at
    owner_client.post(url(workspace, "home/checklist/dismiss/"))
    state.refresh_from_db()
    assert state.checklist_dismissed_at == first
    admin = make_member("admin")
    from django.test import Client

    other = Client()
    other.force_login(admin.user)
    assert "checklist" in other.get(url(workspace)).context  # per member


def test_dismissing_needs_a_post_with_csrf(workspace, owner):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.get(url(workspace, "home/checklist/dismiss/")).status_code == 405
    assert client.post(url(workspace, "home/checklist/dismiss/")).status_code == 403
    assert not HomeState.objects.filter(checklist_dismissed_at__isnull=False).exists()


def test_another_workspaces_data_is_never_counted(
    workspace, other_workspace, owner_client, owner, other_contact, owner_actor
):
    other_owner = Membership.objects.get(workspace=other_workspace).user
    actor = Actor.for_user(other_owner)
    contact_services.contact_upsert(
        workspace=other_workspace,
        data={"email": "x@other-co.com", "lifecycle_stage": "mql", "owner_id": other_owner.pk},
        actor=actor,
    )
    deal_services.deal_create(workspace=other_workspace, actor=actor, values={"title": "Theirs"})
    capture_services.form_create(
        workspace=other_workspace, actor=actor, data={"name": "T", "fields": FIELDS}
    )
    page = owner_client.get(url(workspace))
    assert page.context["marketing"]["today"]["total"] == 0
    assert page.context["marketing"]["mql"].value == 0
    assert page.context["team"]["pipeline"] == []
    assert not {item.key for item in page.context["checklist"] if item.done}
    assert owner_client.get(f"/w/{other_workspace.slug}/").status_code == 404
    dismiss = f"/w/{other_workspace.slug}/home/checklist/dismiss/"
    assert owner_client.post(dismiss).status_code == 404


def test_the_home_page_costs_a_fixed_number_of_queries(
    workspace, sales_floor, owner_client, django_assert_num_queries, make_contact
):
    client = sales_floor["client"]
    client.get(url(workspace))  # the first visit creates the member's home state
    owner_client.get(url(workspace))
    with django_assert_num_queries(14):
        client.get(url(workspace))
    with django_assert_num_queries(15):
        owner_client.get(url(workspace))
    for n in range(5):  # more leads, the same queries
        make_contact(email=f"more{n}@example.org", country="GB")
    with django_assert_num_queries(14):
        client.get(url(workspace))
    with django_assert_num_queries(15):
        owner_client.get(url(workspace))


def test_signing_in_lands_on_the_home(client, workspace):
    from tests.conftest import PASSWORD

    answer = client.post(
        "/login/", {"username": "owner@acme-widgets.com", "password": PASSWORD}, follow=True
    )
    assert answer.redirect_chain[-1][0] == url(workspace)
    assert answer.templates[0].name == "web/home.html"
