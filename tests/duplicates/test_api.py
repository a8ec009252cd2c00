"""GET /api/v1/duplicates pages through any number of pairs by cursor, filters them, and
POST dismiss / merge decide on one; another workspace's pair answers 404."""

import itertools

from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.duplicates.models import DuplicatePair, PairStatus
from leadflow.duplicates.scan import duplicates_scan
from tests.duplicates.test_finder import deliver, jon_and_john, pair_of


def test_pages_through_ten_thousand_pairs_by_cursor(workspace, api):
    contacts = Contact.objects.bulk_create(
        [Contact(workspace=workspace, email=f"c{number}@example.com") for number in range(150)]
    )
    ids = sorted(contact.pk for contact in contacts)
    now = timezone.now()
    DuplicatePair.objects.bulk_create(
        [
            DuplicatePair(
                workspace=workspace,
                contact_id=one,
                other_id=two,
                probability=round(0.5 + (number % 500) / 1000, 3),  # many ties
                reasons="same postal code",
                created_at=now,
                scored_at=now,
            )
            for number, (one, two) in enumerate(
                itertools.islice(itertools.combinations(ids, 2), 10_000)
            )
        ],
        batch_size=2000,
    )
    seen, cursor, pages, last = [], None, 0, None
    while True:
        query = "/duplicates?limit=500" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(query).json()
        pages += 1
        for item in page["items"]:
            key = (item["probability"], item["id"])
            assert last is None or key < last  # highest first, then newest
            last = key
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 10_000 and pages == 20
    above = api.get("/duplicates?min_probability=0.99&limit=500").json()["items"]
    assert above and all(item["probability"] >= 0.99 for item in above)
    one = ids[0]
    mine = api.get(f"/duplicates?contact_id={one}&limit=500").json()["items"]
    assert mine and all(one in (item["contact_id"], item["other_id"]) for item in mine)


def test_a_pair_reads_with_its_reasons_and_both_contacts(workspace, api):
    jon, john = jon_and_john(workspace)
    deliver(workspace)
    items = api.get("/duplicates").json()["items"]
    assert len(items) == 1
    item = items[0]
    assert item["contact"]["email"] == jon.email and item["other"]["email"] == john.email
    assert "phone" in item["reasons"] and item["levels"]["phone"] > 0
    assert api.get("/duplicates?reason=phone").json()["items"]
    assert not api.get("/duplicates?reason=date_of_birth").json()["items"]
    bad = api.get("/duplicates?reason=shoe_size&min_probability=2")
    assert bad.status_code == 422
    assert {error["field"] for error in bad.json()["errors"]} >= {"min_probability"}
    assert api.get("/duplicates?reason=shoe_size").status_code == 422


def test_dismiss_and_merge_through_the_api(workspace, api):
    jon, john = jon_and_john(workspace)
    deliver(workspace)
    pair = pair_of(jon, john)
    answer = api.post(f"/duplicates/{pair.pk}/dismiss")
    assert answer.status_code == 200 and answer.json()["status"] == "dismissed"
    retry = api.post(f"/duplicates/{pair.pk}/dismiss")  # a client's retry
    assert retry.status_code == 200 and retry.json()["status"] == "dismissed"
    assert not api.get("/duplicates").json()["items"]
    assert api.get("/duplicates?status=dismissed").json()["items"][0]["id"] == pair.pk

    DuplicatePair.objects.filter(pk=pair.pk).update(status=PairStatus.OPEN)
    bad = api.post(f"/duplicates/{pair.pk}/merge", {"primary_id": 999999})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "primary_id"
    merged = api.post(
        f"/duplicates/{pair.pk}/merge", {"primary_id": john.pk}, headers={"Idempotency-Key": "m1"}
    )
    assert merged.status_code == 200 and merged.json() == {"contact_id": john.pk}
    again = api.post(
        f"/duplicates/{pair.pk}/merge", {"primary_id": john.pk}, headers={"Idempotency-Key": "m1"}
    )
    assert again.status_code == 200 and again.json() == {"contact_id": john.pk}  # replayed
    assert list(Contact.objects.values_list("pk", flat=True)) == [john.pk]


def test_another_workspaces_pair_answers_404(workspace, api, other_api):
    jon, john = jon_and_john(workspace)
    deliver(workspace)
    pair = pair_of(jon, john)
    assert other_api.get(f"/duplicates/{pair.pk}").status_code == 404
    assert other_api.post(f"/duplicates/{pair.pk}/dismiss").status_code == 404
    assert other_api.post(f"/duplicates/{pair.pk}/merge", {}).status_code == 404
    assert other_api.get("/duplicates").json()["items"] == []
    assert DuplicatePair.objects.get().status == PairStatus.OPEN


def test_settings_and_scan(workspace, api):
    assert api.get("/duplicates/settings").json()["auto_merge"] is False
    bad = api.put("/duplicates/settings", {"auto_merge": True, "auto_merge_threshold": 0.6})
    assert bad.status_code == 422
    good = api.put("/duplicates/settings", {"auto_merge": True, "auto_merge_threshold": 0.97})
    assert good.status_code == 200 and good.json()["auto_merge_threshold"] == 0.97
    first = api.post("/duplicates/scan")
    assert first.status_code == 202 and first.json() == {"queued": True}
    assert api.post("/duplicates/scan").json() == {"queued": False}  # one is waiting
    assert api.get("/duplicates/settings").json()["scan_queued_at"]
    duplicates_scan(workspace=workspace)  # the worker runs it
    assert api.post("/duplicates/scan").json() == {"queued": True}
