"""The deals pages: board, list (filters, keyset pages), deal page, edit, win / lose /
reopen, moves (JSON for the board's script, a form without it), conversion from the
contact page, the forecast; pinned query counts; an own-leads salesperson's view."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from leadflow.contacts import services as contact_services
from leadflow.contacts.models import Contact
from leadflow.deals.models import Deal

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(owner):
    client = Client()
    client.force_login(owner)
    return client


def url(workspace, path=""):
    return f"/w/{workspace.slug}/{path}"


def count_queries(client, address):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(address)
    assert response.status_code == 200
    return len(queries)


def test_the_board_and_list_take_a_fixed_number_of_queries(
    client, workspace, make_deal, lead, stages
):
    make_deal(contact_id=lead.pk)
    client.get(url(workspace, "deals/board/"))
    board_few = count_queries(client, url(workspace, "deals/board/"))
    list_few = count_queries(client, url(workspace, "deals/"))
    for index in range(12):
        make_deal(title=f"Deal {index}", contact_id=lead.pk, stage_id=stages["Proposal"].pk)
    assert count_queries(client, url(workspace, "deals/board/")) == board_few
    assert count_queries(client, url(workspace, "deals/")) == list_few
    assert board_few <= 14 and list_few <= 14, (board_few, list_few)


def test_the_board_shows_columns_with_count_and_total(client, workspace, make_deal, stages):
    make_deal(title="Alpha <b>", amount="1000")
    make_deal(title="Beta", amount="250.5", stage_id=stages["Proposal"].pk)
    page = client.get(url(workspace, "deals/board/")).content.decode()
    assert "Alpha &lt;b&gt;" in page and "<b>" not in page.split("Alpha")[1][:20]
    assert "1,000.00 USD" in page and "250.50 USD" in page
    assert f'data-stage-id="{stages["Won"].pk}"' not in page  # closed stages stay off


def test_a_drop_moves_the_deal_and_answers_the_new_columns(client, workspace, make_deal, stages):
    deal = make_deal(amount="100")
    response = client.post(
        url(workspace, f"deals/{deal.pk}/move/"),
        {"stage_id": stages["Proposal"].pk},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    assert response.json()["columns"][str(stages["Proposal"].pk)] == {
        "count": 1,
        "total": "100.00 USD",
    }
    assert Deal.objects.get(pk=deal.pk).stage == stages["Proposal"]
    refused = client.post(
        url(workspace, f"deals/{deal.pk}/move/"),
        {"stage_id": stages["Lost"].pk},
        headers={"Accept": "application/json"},
    )
    assert refused.status_code == 422 and "lost" in refused.json()["error"]
    assert Deal.objects.get(pk=deal.pk).stage == stages["Proposal"]


def test_the_move_needs_the_csrf_token(owner, workspace, make_deal, stages):
    deal = make_deal()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    response = strict.post(
        url(workspace, f"deals/{deal.pk}/move/"), {"stage_id": stages["Proposal"].pk}
    )
    assert response.status_code == 403
    assert Deal.objects.get(pk=deal.pk).stage == stages["New"]


def test_the_list_filters(client, workspace, make_deal, stages):
    make_deal(title="June deal", expected_close_date="2031-06-03")
    make_deal(title="July deal", expected_close_date="2031-07-03", stage_id=stages["Proposal"].pk)
    page = client.get(url(workspace, "deals/?close_month=2031-06")).content.decode()
    assert "June deal" in page and "July deal" not in page
    page = client.get(url(workspace, f"deals/?stage={stages['Proposal'].pk}")).content.decode()
    assert "July deal" in page and "June deal" not in page
    bad = client.get(url(workspace, "deals/?close_month=soon")).content.decode()
    assert "close_month" in bad and "June deal" in bad


def test_the_deal_page_edits_wins_loses_and_reopens(client, workspace, make_deal, lead):
    deal = make_deal(contact_id=lead.pk)
    page = client.get(url(workspace, f"deals/{deal.pk}/")).content.decode()
    assert "Deal opened" in page and "Stage history" in page
    bad = client.post(url(workspace, f"deals/{deal.pk}/edit/"), {"title": "", "amount": "-3"})
    assert bad.status_code == 422
    assert "1 to 200 characters" in bad.content.decode()
    ok = client.post(
        url(workspace, f"deals/{deal.pk}/edit/"),
        {"title": "Renamed", "amount": "10", "currency": "EUR", "stage_id": deal.stage_id},
    )
    assert ok.status_code == 302
    assert Deal.objects.get(pk=deal.pk).currency == "EUR"
    client.post(url(workspace, f"deals/{deal.pk}/lose/"), {"reason": "", "reason_other": "Too big"})
    assert Deal.objects.get(pk=deal.pk).lost_reason == "Too big"
    client.post(url(workspace, f"deals/{deal.pk}/reopen/"))
    client.post(url(workspace, f"deals/{deal.pk}/win/"))
    assert Deal.objects.get(pk=deal.pk).status == "won"
    assert Contact.objects.get(pk=lead.pk).lifecycle_stage == "customer"


def test_convert_to_deal_from_the_contact_page(client, workspace, lead):
    page = client.get(url(workspace, f"contacts/{lead.pk}/")).content.decode()
    assert "Convert to deal" in page
    response = client.post(url(workspace, f"contacts/{lead.pk}/convert-to-deal/"))
    deal = Deal.objects.get(contact=lead)
    assert response.url == url(workspace, f"deals/{deal.pk}/")
    assert Contact.objects.get(pk=lead.pk).lifecycle_stage == "opportunity"


def test_the_forecast_page_renders_its_tables(client, workspace, make_deal):
    make_deal(title="A", amount="1000", expected_close_date="2031-06-10")
    page = client.get(url(workspace, "deals/forecast/")).content.decode()
    assert "Jun 2031" in page and "100.00" in page and "1,000.00" in page


def test_a_viewer_reads_but_cannot_move(workspace, make_member, make_deal, stages):
    viewer = make_member("viewer")
    client = Client()
    client.force_login(viewer.user)
    deal = make_deal()
    assert client.get(url(workspace, "deals/board/")).status_code == 200
    response = client.post(
        url(workspace, f"deals/{deal.pk}/move/"), {"stage_id": stages["Proposal"].pk}
    )
    assert response.status_code == 403


def test_an_own_leads_salesperson_sees_deals_they_own_or_whose_contact_they_see(
    workspace, owner_actor, make_member, make_deal, other_workspace
):
    sam = make_member("sales", "sam@acme-widgets.com")
    theirs = contact_services.contact_upsert(
        workspace=workspace,
        data={"email": "kim@initech.com", "owner_id": sam.user_id},
        actor=owner_actor,
    ).contact
    owned = make_deal(title="Owned by Sam", owner_id=sam.user_id)
    via_contact = make_deal(title="Sam's lead", contact_id=theirs.pk, owner_id=owner_actor.user_id)
    hidden = make_deal(title="Someone else's", owner_id=owner_actor.user_id)
    client = Client()
    client.force_login(sam.user)
    for path in ("deals/", "deals/board/", "deals/forecast/"):
        page = client.get(url(workspace, path)).content.decode()
        assert "Someone else" not in page, path
    listing = client.get(url(workspace, "deals/")).content.decode()
    assert "Owned by Sam" in listing and "Sam&#x27;s lead" in listing
    assert client.get(url(workspace, f"deals/{owned.pk}/")).status_code == 200
    assert client.get(url(workspace, f"deals/{via_contact.pk}/")).status_code == 200
    assert client.get(url(workspace, f"deals/{hidden.pk}/")).status_code == 404
    assert client.post(url(workspace, f"deals/{hidden.pk}/win/")).status_code == 404
    assert Deal.objects.get(pk=hidden.pk).status == "open"


def test_another_workspaces_deal_answers_404(client, workspace, other_workspace):
    from leadflow.core.actors import Actor
    from leadflow.deals import services

    other = services.deal_create(
        workspace=other_workspace, actor=Actor.system(), values={"title": "Theirs"}
    )
    assert client.get(url(workspace, f"deals/{other.pk}/")).status_code == 404
    assert client.post(url(workspace, f"deals/{other.pk}/delete/")).status_code == 404
    assert Deal.objects.filter(pk=other.pk).exists()
