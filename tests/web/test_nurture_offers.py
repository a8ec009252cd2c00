"""Offers in the app: a marketer makes one, fixes what is refused (422, nothing saved), adds
pool codes; a salesperson reads them; another workspace's offer is not found."""

from leadflow.core.actors import Actor
from leadflow.nurture.models import Offer, OfferCode
from leadflow.nurture.services.offers import offer_create


def offers(workspace, path: str = "") -> str:
    return f"/w/{workspace.slug}/offers/{path}"


FORM = {
    "name": "Spring sale",
    "description": "20% off",
    "kind": "pool",
    "prefix": "",
    "interests": "garden, Tools",
    "priority": "3",
    "starts_at": "",
    "ends_at": "",
    "valid_days": "14",
    "active": "on",
}


def test_a_marketer_makes_an_offer_adds_codes_and_sees_them(client, make_member, workspace):
    client.force_login(make_member("marketer").user)
    assert b"No offers yet" in client.get(offers(workspace)).content
    bad = client.post(
        offers(workspace, "new/"), {**FORM, "name": "", "priority": "200", "ends_at": "soon"}
    )
    assert bad.status_code == 422
    text = bad.content.decode()
    assert "name_error" in text and "priority_error" in text and "ends_at_error" in text
    assert 'value="garden, Tools"' in text
    assert not Offer.objects.exists()
    made = client.post(offers(workspace, "new/"), FORM)
    assert made.status_code == 302
    offer = Offer.objects.get(workspace=workspace)
    assert (offer.interests, offer.priority, offer.valid_days) == (["garden", "tools"], 3, 14)
    added = client.post(offers(workspace, f"{offer.pk}/codes/"), {"codes": "S1\nS2 S3\nS1"})
    assert added.status_code == 302
    assert OfferCode.objects.filter(offer=offer).count() == 3
    refused = client.post(offers(workspace, f"{offer.pk}/codes/"), {"codes": "bad code!"})
    assert refused.status_code == 422 and b"id_codes_error" in refused.content
    page = client.get(offers(workspace)).content.decode()
    assert "Spring sale" in page and "garden, tools" in page
    saved = client.post(
        offers(workspace, f"{offer.pk}/"), {**FORM, "name": "Spring sale 2", "kind": "generated"}
    )
    assert saved.status_code == 302
    offer.refresh_from_db()
    assert offer.name == "Spring sale 2" and offer.kind == "pool"  # kind stays once it has codes


def test_a_salesperson_reads_offers_but_cannot_change_them(
    client, make_member, workspace, owner_actor
):
    offer = offer_create(workspace=workspace, actor=owner_actor, data={"name": "Trial"})
    client.force_login(make_member("sales").user)
    page = client.get(offers(workspace, f"{offer.pk}/"))
    assert page.status_code == 200 and b"Save offer" not in page.content
    assert client.post(offers(workspace, f"{offer.pk}/"), {**FORM}).status_code == 403
    assert client.get(offers(workspace, "new/")).status_code == 403
    offer.refresh_from_db()
    assert offer.name == "Trial"


def test_another_workspaces_offer_is_not_found(client, owner, workspace, other_workspace):
    theirs = offer_create(
        workspace=other_workspace, actor=Actor.system("t"), data={"name": "Theirs"}
    )
    client.force_login(owner)
    assert client.get(offers(workspace, f"{theirs.pk}/")).status_code == 404
    for path in (f"{theirs.pk}/", f"{theirs.pk}/codes/"):
        assert client.post(offers(workspace, path), {**FORM, "codes": "X1"}).status_code == 404
    assert theirs.codes.count() == 0
    assert b"Theirs" not in client.get(offers(workspace)).content
