"""The duplicates review pages: the list (order, filters, paging, query count), the compare
page, merging and dismissing a pair, merging every pair above a probability after a
preview, the scan button, the automatic-merge setting and its list, roles and workspaces.

Pairs are found by the finder itself (``duplicates.services.duplicates_check``) from
contacts written through ``contact_upsert``, as in the app."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from leadflow.contacts.models import Contact
from leadflow.contacts.services import contact_upsert
from leadflow.core.actors import Actor
from leadflow.core.models import Membership
from leadflow.duplicates import services
from leadflow.duplicates.model import MATCH_THRESHOLD, REASON_BITS
from leadflow.duplicates.models import DuplicateDecision, DuplicatePair, DuplicateProfile
from tests.web.conftest import url

# Surnames far apart in spelling and sound, so two pairs never match each other.
SURNAMES = [
    "Abernathy", "Bergstrom", "Castellano", "Dunleavy", "Eriksen", "Fitzgerald", "Gallagher",
    "Holloway", "Ishikawa", "Jablonski", "Kowalczyk", "Lindqvist", "Montgomery", "Nakamura",
    "Oyelaran", "Pemberton", "Quintero", "Rasmussen", "Szymanski", "Thornbury", "Underhill",
    "Vasquez", "Whitcombe", "Xenakis", "Yamamoto", "Zimmerman", "Okonkwo", "Beauchamp",
]  # fmt: skip


@pytest.fixture
def lead(workspace, owner_actor):
    def make(**data) -> Contact:
        return contact_upsert(workspace=workspace, data=data, actor=owner_actor).contact

    return make


def find(workspace, *contacts) -> None:
    """What the activity subscriber does after the commit (tests run inside one)."""
    services.duplicates_check(workspace=workspace, contact_ids=[c.pk for c in contacts])


def pair_of(one: Contact, two: Contact) -> DuplicatePair:
    low, high = sorted([one.pk, two.pk])
    return DuplicatePair.objects.get(contact_id=low, other_id=high)


@pytest.fixture
def likely(workspace, lead):
    """Jon and John Smith: same date of birth and postal code, different emails."""
    jon = lead(
        email="jon.smith@gmail.com",
        first_name="Jon",
        last_name="Smith",
        postal_code="SW1A 1AA",
        date_of_birth="1980-02-03",
        job_title="Buyer",
        source="google",
    )
    john = lead(
        email="john.smith@yahoo.com",
        first_name="John",
        last_name="Smith",
        postal_code="SW1A 1AA",
        date_of_birth="1980-02-03",
        city="London",
        source="newsletter",
    )
    find(workspace, jon, john)
    return pair_of(jon, john)


@pytest.fixture
def possible(workspace, lead):
    """Maria Garcia twice at one postal code, at different companies under different
    addresses: worth a look, not a sure thing."""
    one = lead(
        email="maria.garcia@initech.com",
        first_name="Maria",
        last_name="Garcia",
        postal_code="LS1 4AP",
    )
    two = lead(email="mg@hooli.com", first_name="Maria", last_name="Garcia", postal_code="LS1 4AP")
    find(workspace, one, two)
    pair = DuplicatePair.objects.filter(
        contact_id=min(one.pk, two.pk), other_id=max(one.pk, two.pk)
    )
    assert pair.exists(), "the finder no longer lists a same-name, same-postcode pair"
    return pair.get()


def test_the_list_puts_the_likeliest_pair_first_with_percent_badge_reasons_and_contacts(
    owner_client, workspace, likely, possible
):
    assert likely.probability >= MATCH_THRESHOLD > possible.probability
    html = owner_client.get(url(workspace, "duplicates/")).content.decode()
    assert html.index(f'id="pair-{likely.pk}"') < html.index(f'id="pair-{possible.pk}"')
    likely_card = html[
        html.index(f'id="pair-{likely.pk}"') : html.index(f'id="pair-{possible.pk}"')
    ]
    assert f"{int(likely.probability * 100)} %" in likely_card
    assert ">Likely<" in likely_card
    assert "jon.smith@gmail.com" in likely_card and "john.smith@yahoo.com" in likely_card
    assert f"/contacts/{likely.contact_id}/" in likely_card
    assert "Same date of birth" in likely_card
    assert "first names Jon / John are very similar" in likely_card
    assert "Found by a new or changed contact" in likely_card
    for button in ("Compare", "Merge", "Not a duplicate"):
        assert f">{button}<" in likely_card
    possible_card = html[html.index(f'id="pair-{possible.pk}"') :]
    assert ">Possible<" in possible_card


def test_names_and_reasons_are_escaped(owner_client, workspace, lead):
    one = lead(email="x1@evil.example", first_name="<script>alert(1)</script>", last_name="Evil")
    two = lead(email="x2@evil.example", first_name="<script>alert(1)</script>", last_name="Evil")
    find(workspace, one, two)
    assert DuplicatePair.objects.filter(workspace=workspace).exists()
    for path in ("duplicates/", f"duplicates/{pair_of(one, two).pk}/"):
        html = owner_client.get(url(workspace, path)).content.decode()
        assert "<script>alert(1)" not in html
        assert "&lt;script&gt;alert(1)" in html


def test_filters_by_minimum_probability_reason_source_and_status(
    owner_client, workspace, owner_actor, likely, possible
):
    def listed(query: str) -> set[int]:
        response = owner_client.get(url(workspace, f"duplicates/?{query}"))
        assert response.status_code == 200
        return {int(pk) for pk in re.findall(r'id="pair-(\d+)"', response.content.decode())}

    assert listed("") == {likely.pk, possible.pk}
    assert listed("min=90") == {likely.pk}
    assert listed("reason=date_of_birth") == {likely.pk}
    assert listed("reason=last_name") == {likely.pk, possible.pk}
    assert listed("source=newsletter") == {likely.pk}
    html = owner_client.get(url(workspace, "duplicates/")).content.decode()
    assert '<option value="newsletter">' in html and '<option value="google">' in html
    for key in REASON_BITS:
        assert f'<option value="{key}">' in html
    # A value that cannot be read is said so and not applied.
    response = owner_client.get(url(workspace, "duplicates/?min=abc&reason=nonsense"))
    assert "Enter a percent from 0 to 100." in response.content.decode()
    assert "Choose a reason from the list." in response.content.decode()
    assert listed("min=abc") == {likely.pk, possible.pk}
    services.pair_dismiss(workspace=workspace, pair_id=possible.pk, actor=owner_actor)
    assert listed("") == {likely.pk}
    assert listed("status=dismissed") == {possible.pk}


def test_an_htmx_filter_answers_only_the_results(owner_client, workspace, likely):
    response = owner_client.get(
        url(workspace, "duplicates/?min=50"),
        headers={"HX-Request": "true", "HX-Target": "pair-results"},
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="pair-results"')
    assert f'id="pair-{likely.pk}"' in html and "<nav" not in html


@pytest.fixture
def many_pairs(workspace, lead):
    people = []
    for index, surname in enumerate(SURNAMES):
        for email in (f"{surname.lower()}@example.org", f"{surname.lower()}.{index}@mail.example"):
            people.append(
                lead(
                    email=email,
                    first_name="Robin",
                    last_name=surname,
                    postal_code=f"AB{index} 1CD",
                    date_of_birth=f"19{50 + index}-03-0{1 + index % 9}",
                )
            )
    find(workspace, *people)
    pairs = DuplicatePair.objects.filter(workspace=workspace, status="open")
    assert pairs.count() >= 26
    return pairs


def test_cursor_paging_walks_every_pair_once_in_probability_order(
    owner_client, workspace, many_pairs
):
    seen: list[int] = []
    path = url(workspace, "duplicates/")
    for _ in range(5):
        html = owner_client.get(path).content.decode()
        seen += [int(pk) for pk in re.findall(r'id="pair-(\d+)"', html)]
        more = re.search(r'href="\?([^"]*cursor=[^"]*)">Next page', html)
        if not more:
            break
        path = url(workspace, "duplicates/?" + more.group(1).replace("&amp;", "&"))
    assert sorted(seen) == sorted(many_pairs.values_list("pk", flat=True))
    order = dict(many_pairs.values_list("pk", "probability"))
    assert [order[pk] for pk in seen] == sorted((order[pk] for pk in seen), reverse=True)
    # A broken cursor starts from the top instead of failing.
    assert owner_client.get(url(workspace, "duplicates/?cursor=garbage")).status_code == 200


def test_the_list_page_runs_a_fixed_number_of_queries(owner_client, workspace, many_pairs):
    owner_client.get(url(workspace, "duplicates/"))  # warm the session
    with CaptureQueriesContext(connection) as queries:
        assert owner_client.get(url(workspace, "duplicates/?min=10")).status_code == 200
    # session, user, membership, the page of pairs, the profile, the sources (two queries),
    # the switcher's workspaces: no query per pair.
    assert len(queries) <= 8, "\n".join(q["sql"][:140] for q in queries)


def test_the_compare_page_shows_every_field_with_differences_levels_and_defaults(
    owner_client, workspace, likely
):
    jon, john = likely.contact, likely.other
    html = owner_client.get(url(workspace, f"duplicates/{likely.pk}/")).content.decode()
    for label in (
        "First name", "Last name", "Email", "Phone", "Company", "Job title", "Street address",
        "City", "Region / state", "Postal code", "Country", "Date of birth", "Lifecycle stage",
        "Owner", "First source", "Created",
    ):  # fmt: skip
        assert f'<th scope="row">{label}' in html, label
    rows = dict(
        re.findall(r'<tr class="(\w+)">\s*<th scope="row">([^<]+)', html)[i][::-1]
        for i in range(16)
    )
    assert rows["First name"] == "differs" and rows["Last name"] == "same"
    assert rows["Postal code"] == "same" and rows["City"] == "differs"
    assert "Very similar" in html  # Jon / John
    assert "One side is empty" in html  # city: only John has one
    assert "Not compared" in html  # job title
    assert likely.reasons[1:40] in html
    # The older contact stays by default; the value over an empty one is preselected.
    assert f'name="primary" value="{jon.pk}" checked' in html
    assert f'name="keep__city" value="{john.pk}" checked' in html
    assert f'name="keep__job_title" value="{jon.pk}" checked' in html
    assert 'formaction="' in html and ">Not a duplicate<" in html


def test_merging_from_the_compare_page_keeps_the_chosen_contact_and_values(
    owner_client, workspace, likely
):
    jon, john = likely.contact, likely.other
    form = {
        "primary": str(john.pk),
        "keep__first_name": str(jon.pk),
        "keep__email": str(john.pk),
        "keep__job_title": str(jon.pk),
        "keep__city": str(john.pk),
        "next": f"/w/{workspace.slug}/duplicates/?min=50",
    }
    response = owner_client.post(url(workspace, f"duplicates/{likely.pk}/merge/"), form)
    assert response.status_code == 302
    assert response["Location"] == f"/w/{workspace.slug}/duplicates/?min=50"
    assert not Contact.objects.filter(pk=jon.pk).exists()
    survivor = Contact.objects.get(pk=john.pk)
    assert (survivor.first_name, survivor.email) == ("Jon", "john.smith@yahoo.com")
    assert (survivor.job_title, survivor.city) == ("Buyer", "London")
    decision = DuplicateDecision.objects.get(workspace=workspace)
    assert decision.is_duplicate and not decision.automatic
    assert not DuplicatePair.objects.filter(pk=likely.pk).exists()
    # The same form again (a double click): the pair is gone, nothing else is merged.
    again = owner_client.post(url(workspace, f"duplicates/{likely.pk}/merge/"), form)
    assert again.status_code == 404
    assert Contact.objects.filter(pk=john.pk).exists()
    assert DuplicateDecision.objects.filter(workspace=workspace).count() == 1


def test_a_value_of_neither_contact_is_refused_and_nothing_is_merged(
    owner_client, workspace, likely
):
    form = {"primary": str(likely.contact_id), "keep__email": "999999"}
    response = owner_client.post(url(workspace, f"duplicates/{likely.pk}/merge/"), form)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/w/{workspace.slug}/duplicates/{likely.pk}/?next=")
    assert DuplicatePair.objects.filter(pk=likely.pk, status="open").exists()
    page = owner_client.get(response["Location"]).content.decode()
    assert "Choose the value of one of the two contacts." in page
    stranger = {"primary": "999999"}
    owner_client.post(url(workspace, f"duplicates/{likely.pk}/merge/"), stranger)
    assert Contact.objects.filter(pk__in=[likely.contact_id, likely.other_id]).count() == 2


def test_merge_from_the_list_uses_the_defaults(owner_client, workspace, likely):
    response = owner_client.post(
        url(workspace, f"duplicates/{likely.pk}/merge/"),
        {"next": f"/w/{workspace.slug}/duplicates/"},
    )
    assert response.status_code == 302
    survivor = Contact.objects.get(pk=likely.contact_id)  # the older one stays
    assert not Contact.objects.filter(pk=likely.other_id).exists()
    assert survivor.city == "London"  # a value over an empty one
    page = owner_client.get(response["Location"]).content.decode()
    assert f"into Jon Smith #{survivor.pk}" in page


def test_not_a_duplicate_leaves_the_list_for_good(owner_client, workspace, likely, possible):
    response = owner_client.post(
        url(workspace, f"duplicates/{possible.pk}/dismiss/"),
        headers={"HX-Request": "true", "HX-Target": f"pair-{possible.pk}"},
    )
    assert response.status_code == 200
    assert "not a duplicate" in response.content.decode()
    assert f'id="pair-{possible.pk}"' in response.content.decode()
    possible.refresh_from_db()
    assert possible.status == "dismissed"
    decision = DuplicateDecision.objects.get(contact_id=possible.contact_id)
    assert decision.is_duplicate is False
    assert (
        f'id="pair-{possible.pk}"'
        not in owner_client.get(url(workspace, "duplicates/")).content.decode()
    )
    # Found again, it stays dismissed; dismissing it again (a double click, a retry)
    # changes nothing and says it is not a duplicate.
    find(workspace, possible.contact, possible.other)
    possible.refresh_from_db()
    assert possible.status == "dismissed"
    again = owner_client.post(url(workspace, f"duplicates/{possible.pk}/dismiss/"))
    assert again.status_code == 302
    assert DuplicateDecision.objects.filter(contact_id=possible.contact_id).count() == 1
    repeat = owner_client.post(
        url(workspace, f"duplicates/{possible.pk}/dismiss/"),
        headers={"HX-Request": "true", "HX-Target": f"pair-{possible.pk}"},
    )
    assert repeat.status_code == 200 and "not a duplicate" in repeat.content.decode()
    # The compare page of a decided pair says so and offers no decision.
    html = owner_client.get(url(workspace, f"duplicates/{possible.pk}/")).content.decode()
    assert "Marked not a duplicate by owner@acme-widgets.com" in html
    assert ">Merge<" not in html
    # From the compare page (no htmx) it goes back to the list with a message.
    plain = owner_client.post(url(workspace, f"duplicates/{likely.pk}/dismiss/"))
    assert plain.status_code == 302 and plain["Location"] == f"/w/{workspace.slug}/duplicates/"


def test_bulk_merge_previews_then_merges_exactly_the_previewed_pairs_once(
    owner_client, workspace, lead, likely, possible
):
    preview = owner_client.get(url(workspace, "duplicates/merge-above/?threshold=90"))
    html = preview.content.decode()
    assert preview.status_code == 200
    assert "1 pair to merge" in html
    assert f'name="pair" value="{likely.pk}"' in html
    assert f'name="pair" value="{possible.pk}"' not in html
    assert Contact.objects.filter(workspace=workspace).count() == 4  # a preview writes nothing
    # A pair found after the preview is not merged unseen.
    one = lead(
        email="kai.berg@a.example",
        first_name="Kai",
        last_name="Berg",
        date_of_birth="1990-05-06",
        postal_code="N1 9GU",
    )
    two = lead(
        email="kai.berg@b.example",
        first_name="Kai",
        last_name="Berg",
        date_of_birth="1990-05-06",
        postal_code="N1 9GU",
    )
    find(workspace, one, two)
    late = pair_of(one, two)
    assert late.probability >= 0.9
    form = {"threshold": "90", "pair": [str(likely.pk)]}
    done = owner_client.post(url(workspace, "duplicates/merge-above/"), form)
    assert done.status_code == 302
    assert "Merged 1 pair." in owner_client.get(done["Location"]).content.decode()
    assert not DuplicatePair.objects.filter(pk=likely.pk).exists()
    assert DuplicatePair.objects.filter(pk=late.pk, status="open").exists()
    assert DuplicatePair.objects.filter(pk=possible.pk, status="open").exists()
    # The same confirmation again: nothing left, nothing merged.
    count = Contact.objects.filter(workspace=workspace).count()
    again = owner_client.post(url(workspace, "duplicates/merge-above/"), form)
    assert "Nothing was merged" in owner_client.get(again["Location"]).content.decode()
    assert Contact.objects.filter(workspace=workspace).count() == count


def test_bulk_merge_refuses_a_threshold_it_cannot_read(owner_client, workspace, likely):
    for value in ("abc", "30", "101"):
        response = owner_client.get(url(workspace, f"duplicates/merge-above/?threshold={value}"))
        assert response.status_code == 422
        assert "Enter a percent from 50 to 100." in response.content.decode()
    response = owner_client.post(url(workspace, "duplicates/merge-above/"), {"threshold": "10"})
    assert response.status_code == 302
    assert DuplicatePair.objects.filter(pk=likely.pk).exists()


def test_scan_now_queues_the_scan_and_says_so(owner_client, client_for, workspace):
    response = owner_client.post(url(workspace, "duplicates/scan/"), follow=True)
    assert "The scan of the whole workspace is queued" in response.content.decode()
    queued = DBTaskResult.objects.filter(task_path="leadflow.duplicates.tasks.duplicates_scan")
    assert [row.args_kwargs["args"] for row in queued] == [[workspace.pk]]
    viewer, _ = client_for("viewer")
    assert viewer.post(url(workspace, "duplicates/scan/")).status_code == 403
    assert queued.count() == 1


def test_the_last_scan_is_shown(owner_client, workspace, likely):
    from leadflow.duplicates.scan import duplicates_scan

    assert (
        "has not been scanned yet"
        in owner_client.get(url(workspace, "duplicates/")).content.decode()
    )
    duplicates_scan(workspace=workspace)
    profile = DuplicateProfile.objects.get(workspace=workspace)
    html = owner_client.get(url(workspace, "duplicates/")).content.decode()
    assert f"{profile.scan_pairs} pair" in html and "Last scan of the whole workspace" in html


def test_automatic_merging_is_off_until_an_admin_turns_it_on_and_every_merge_is_listed(
    owner_client, client_for, workspace, lead
):
    html = owner_client.get(url(workspace, "duplicates/settings/")).content.decode()
    assert 'name="auto_merge">' in html  # unchecked
    assert "No pair has been merged automatically." in html
    refused = owner_client.post(
        url(workspace, "duplicates/settings/"), {"auto_merge": "on", "threshold": "90"}
    )
    assert refused.status_code == 422
    assert "Enter a percent from 95 to 100." in refused.content.decode()
    assert DuplicateProfile.objects.filter(workspace=workspace, auto_merge=True).count() == 0
    marketer, _ = client_for("marketer")
    assert (
        "Owners and admins change it."
        in marketer.get(url(workspace, "duplicates/settings/")).content.decode()
    )
    assert (
        marketer.post(
            url(workspace, "duplicates/settings/"), {"auto_merge": "on", "threshold": "99"}
        ).status_code
        == 403
    )
    saved = owner_client.post(
        url(workspace, "duplicates/settings/"), {"auto_merge": "on", "threshold": "99"}
    )
    assert saved.status_code == 302
    profile = DuplicateProfile.objects.get(workspace=workspace)
    assert profile.auto_merge and profile.auto_merge_threshold == pytest.approx(0.99)
    one = lead(
        email="jon.smith@gmail.com",
        first_name="Jon",
        last_name="Smith",
        postal_code="SW1A 1AA",
        date_of_birth="1980-02-03",
    )
    two = lead(
        email="john.smith@yahoo.com",
        first_name="John",
        last_name="Smith",
        postal_code="SW1A 1AA",
        date_of_birth="1980-02-03",
    )
    find(workspace, one, two)
    assert Contact.objects.filter(pk__in=[one.pk, two.pk]).count() == 1
    html = marketer.get(url(workspace, "duplicates/settings/")).content.decode()
    assert f"#{one.pk} and #{two.pk}: kept as" in html
    assert "Same date of birth" in html
    listed = owner_client.get(url(workspace, "duplicates/")).content.decode()
    assert "Automatic merging: on" in listed
    exact = owner_client.post(
        url(workspace, "duplicates/settings/"), {"auto_merge": "on", "threshold": "97.5"}
    )
    assert exact.status_code == 302
    html = owner_client.get(url(workspace, "duplicates/settings/")).content.decode()
    assert 'value="97.5"' in html  # saving the form unchanged keeps 97.5, not 97
    off = owner_client.post(url(workspace, "duplicates/settings/"), {"threshold": "99"})
    assert off.status_code == 302
    assert not DuplicateProfile.objects.get(workspace=workspace).auto_merge


def test_roles_viewer_reads_sales_dismisses_only_marketer_merges(
    client_for, workspace, likely, possible
):
    viewer, _ = client_for("viewer")
    html = viewer.get(url(workspace, "duplicates/")).content.decode()
    assert f'id="pair-{likely.pk}"' in html
    assert ">Not a duplicate<" not in html and "Scan workspace now" not in html
    assert "Merge many pairs" not in html
    assert viewer.post(url(workspace, f"duplicates/{likely.pk}/dismiss/")).status_code == 403
    assert viewer.post(url(workspace, f"duplicates/{likely.pk}/merge/")).status_code == 403
    assert viewer.get(url(workspace, "duplicates/merge-above/")).status_code == 403
    sales, membership = client_for("sales")
    Contact.objects.filter(pk__in=[possible.contact_id, possible.other_id]).update(
        owner=membership.user
    )
    html = sales.get(url(workspace, "duplicates/")).content.decode()
    assert f'id="pair-{possible.pk}"' in html and f'id="pair-{likely.pk}"' not in html
    assert sales.get(url(workspace, f"duplicates/{likely.pk}/")).status_code == 404
    assert sales.post(url(workspace, f"duplicates/{likely.pk}/dismiss/")).status_code == 404
    assert sales.post(url(workspace, f"duplicates/{possible.pk}/merge/")).status_code == 403
    assert (
        sales.post(url(workspace, "duplicates/merge-above/"), {"threshold": "50"}).status_code
        == 403
    )
    assert sales.post(url(workspace, f"duplicates/{possible.pk}/dismiss/")).status_code == 302
    marketer, _ = client_for("marketer")
    assert marketer.post(url(workspace, f"duplicates/{likely.pk}/merge/")).status_code == 302
    assert not DuplicatePair.objects.filter(pk=likely.pk).exists()


def test_another_workspaces_pair_answers_404_everywhere(
    owner_client, workspace, other_workspace, likely
):
    owner = Membership.objects.get(workspace=other_workspace).user
    actor = Actor.for_user(owner, Membership.objects.get(workspace=other_workspace))
    theirs = [
        contact_upsert(
            workspace=other_workspace,
            data={"email": f"zed{n}@other-co.com", "first_name": "Zed", "last_name": "Quark",
                  "date_of_birth": "1970-01-02", "postal_code": "ZZ1 1ZZ"},
            actor=actor,
        ).contact
        for n in (1, 2)
    ]  # fmt: skip
    find(other_workspace, *theirs)
    foreign = pair_of(*theirs)
    assert owner_client.get(url(workspace, f"duplicates/{foreign.pk}/")).status_code == 404
    assert owner_client.post(url(workspace, f"duplicates/{foreign.pk}/merge/")).status_code == 404
    assert owner_client.post(url(workspace, f"duplicates/{foreign.pk}/dismiss/")).status_code == 404
    bulk = owner_client.post(
        url(workspace, "duplicates/merge-above/"), {"threshold": "50", "pair": [str(foreign.pk)]}
    )
    assert bulk.status_code == 302
    assert Contact.objects.filter(pk__in=[c.pk for c in theirs]).count() == 2
    foreign.refresh_from_db()
    assert foreign.status == "open"
    html = owner_client.get(url(workspace, "duplicates/?status=dismissed")).content.decode()
    assert f'id="pair-{foreign.pk}"' not in html
    assert owner_client.get(url(other_workspace, "duplicates/")).status_code == 404


def test_swapped_names_are_said_on_the_compare_page(owner_client, workspace, lead):
    one = lead(
        email="ann.lee@lee-corp.com", first_name="Ann", last_name="Lee", phone="+447911123456"
    )
    two = lead(email="lee.ann@gmail.com", first_name="Lee", last_name="Ann", phone="+447911123456")
    find(workspace, one, two)
    pair = pair_of(one, two)
    assert pair.levels["names_swapped"] == 1
    html = owner_client.get(url(workspace, f"duplicates/{pair.pk}/")).content.decode()
    assert html.count("first and last names swapped") == 2  # on both name rows
    assert "names swapped (Ann Lee / Lee Ann)" in html  # the reasons


def test_the_compare_page_runs_a_fixed_number_of_queries(owner_client, workspace, likely):
    owner_client.get(url(workspace, f"duplicates/{likely.pk}/"))  # warm the session
    with CaptureQueriesContext(connection) as queries:
        response = owner_client.get(url(workspace, f"duplicates/{likely.pk}/"))
    assert response.status_code == 200
    # session, user, membership, the pair with both contacts, its decision, the custom
    # fields (for labels, and for the identifying ones), the members (owner names), the
    # switcher's workspaces: nothing per field.
    assert len(queries) <= 9, "\n".join(q["sql"][:140] for q in queries)


def test_a_comparison_left_out_with_both_values_filled_says_not_counted(
    owner_client, workspace, lead
):
    """Two mailboxes each made of the owner's name say nothing about one person (decision
    0020): the compare page says "Not counted", never "One side is empty"."""
    jon = lead(
        email="jon.smith@gmail.com", first_name="Jon", last_name="Smith",
        postal_code="SW1A 1AA", date_of_birth="1980-02-03",
    )  # fmt: skip
    john = lead(
        email="john.smith@yahoo.com", first_name="John", last_name="Smith",
        postal_code="SW1A 1AA", date_of_birth="1980-02-03",
    )  # fmt: skip
    find(workspace, jon, john)
    pair = pair_of(jon, john)
    assert pair.levels["email"] == -1
    html = owner_client.get(url(workspace, f"duplicates/{pair.pk}/")).content.decode()
    email_row = html[html.index(">Email<") : html.index(">Phone<")]
    assert "Not counted" in email_row and "One side is empty" not in email_row
