"""Lead magnets in the app: a marketer uploads a file (type and content checked, 422 beside
the field), adds pool codes, offers a magnet on a form and sees the figures; a salesperson
only reads; another workspace's magnet is not found; a sequence can start on a download; a
marketer releases a seat and the waiting list's first lead gets it."""

from django.core.files.uploadedfile import SimpleUploadedFile

from leadflow.capture import magnets
from leadflow.capture.models import Magnet, MagnetCode, MagnetGrant
from leadflow.nurture.models.sequences import Sequence


def url(workspace, path: str = "") -> str:
    return f"/w/{workspace.slug}/magnets/{path}"


def test_a_marketer_makes_magnets_and_offers_one_on_a_form(
    client_for, workspace, lead_form, make_contact, django_assert_max_num_queries
):
    client, _ = client_for("marketer")
    assert b"No lead magnets yet" in client.get(url(workspace)).content
    fake = SimpleUploadedFile("guide.pdf", b"MZ not a pdf")
    refused = client.post(url(workspace, "new/"), {"kind": "file", "name": "Guide", "file": fake})
    assert refused.status_code == 422 and b"id_file_error" in refused.content
    assert not Magnet.objects.exists()
    guide = SimpleUploadedFile("guide.pdf", b"%PDF-1.4 guide")
    made = client.post(
        url(workspace, "new/"),
        {"kind": "file", "name": "Guide", "file": guide, "link_days": "3", "active": "on"},
    )
    assert made.status_code == 302
    magnet = Magnet.objects.get()
    assert (magnet.file_name, magnet.link_days, magnet.active) == ("guide.pdf", 3, True)
    assert magnet.file.read() == b"%PDF-1.4 guide"

    codes = client.post(url(workspace, "new/"), {"kind": "code", "name": "10% off", "active": "on"})
    pool = Magnet.objects.get(kind="code")
    assert codes.status_code == 302
    csv = SimpleUploadedFile("codes.csv", b"code\nA1\nA2\n")
    added = client.post(url(workspace, f"{pool.pk}/codes/"), {"codes": "B1 B2", "codes_file": csv})
    assert added.status_code == 302
    assert set(MagnetCode.objects.values_list("code", flat=True)) == {
        "B1",
        "B2",
        "A1",
        "A2",
    }
    magnets.magnet_grant(
        magnet=pool, contact_id=make_contact(first_name="Ann").pk, submission_id=None
    )
    with django_assert_max_num_queries(12):  # one query for every magnet's figures
        page = client.get(url(workspace)).content.decode()
    assert "Guide" in page and "3 left" in page

    builder = client.get(f"/w/{workspace.slug}/forms/{lead_form.pk}/").content.decode()
    assert f'<option value="{magnet.pk}">Guide</option>' in builder


def test_the_waiting_list_shows_in_order_and_a_salesperson_only_reads(
    client_for, workspace, owner_actor, make_contact, other_workspace
):
    seats = magnets.magnet_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Webinar", "kind": "seat", "capacity": 1},
    )
    for name in ("Ann", "Bob", "Cy"):
        magnets.magnet_grant(
            magnet=seats, contact_id=make_contact(first_name=name).pk, submission_id=None
        )
    client, _ = client_for("sales")
    page = client.get(url(workspace, f"{seats.pk}/")).content.decode()
    assert "1 of 1 seats taken · 2 waiting" in page
    assert page.index("Waiting (1)") < page.index("Waiting (2)")
    assert client.post(url(workspace, "new/"), {"kind": "url", "name": "x"}).status_code == 403
    assert client.post(url(workspace, f"{seats.pk}/"), {"name": "x"}).status_code == 403
    owner_client, _ = client_for("admin")
    more = owner_client.post(
        url(workspace, f"{seats.pk}/"), {"name": "Webinar", "capacity": "2", "active": "on"}
    )
    assert more.status_code == 302
    assert MagnetGrant.objects.filter(seat="seated").count() == 2
    other = magnets.magnet_create(
        workspace=other_workspace, actor=owner_actor, data={"name": "Theirs", "kind": "seat"}
    )
    assert owner_client.get(url(workspace, f"{other.pk}/")).status_code == 404


def test_downloading_a_magnet_can_start_a_sequence(client_for, workspace, owner_actor):
    magnet = magnets.magnet_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Guide", "kind": "url", "url": "https://example.com/guide"},
    )
    client, _ = client_for("marketer")
    page = client.get(f"/w/{workspace.slug}/sequences/new/").content.decode()
    assert "Downloaded a lead magnet" in page
    response = client.post(
        f"/w/{workspace.slug}/sequences/new/",
        {
            "name": "After the guide",
            "reentry": "never",
            "trigger_kind": "magnet.downloaded",
            "trigger_magnet_id": str(magnet.pk),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Sequence.objects.get().trigger == {"kind": "magnet.downloaded", "magnet_id": magnet.pk}
    refused = client.post(
        f"/w/{workspace.slug}/sequences/new/",
        {
            "name": "Wrong",
            "reentry": "never",
            "trigger_kind": "magnet.downloaded",
            "trigger_magnet_id": "999999",
        },
    )
    assert refused.status_code == 422 and "No such lead magnet." in refused.content.decode()


def test_the_app_releases_a_seat_and_only_managers_may(
    client_for, workspace, owner_actor, make_contact
):
    magnet = magnets.magnet_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Spring webinar", "kind": "seat", "capacity": 1},
    )
    first, second = (make_contact(email=f"lead{n}@initech.com").pk for n in range(2))
    for contact_id in (first, second):
        magnets.magnet_grant(magnet=magnet, contact_id=contact_id, submission_id=None)
    page = f"/w/{workspace.slug}/magnets/{magnet.pk}/"
    sales, _ = client_for("sales")
    assert "Release seat" not in sales.get(page).content.decode()
    assert sales.post(f"{page}seats/{first}/release/").status_code == 403
    marketer, _ = client_for("marketer")
    assert 'aria-label="Release seat of' in marketer.get(page).content.decode()
    done = marketer.post(f"{page}seats/{first}/release/", follow=True)
    assert "Released the seat of" in done.content.decode()
    grants = MagnetGrant.objects.filter(magnet=magnet)
    assert dict(grants.values_list("contact_id", "seat")) == {first: "released", second: "seated"}
    timeline = marketer.get(f"/w/{workspace.slug}/contacts/{second}/").content.decode()
    assert "Got a seat at Spring webinar from the waiting list" in timeline
    timeline = marketer.get(f"/w/{workspace.slug}/contacts/{first}/").content.decode()
    assert "Seat at Spring webinar released" in timeline
    again = marketer.post(f"{page}seats/{first}/release/", follow=True)
    assert "This lead holds no seat." in again.content.decode()
    assert marketer.post(f"{page}seats/{10**9}/release/").status_code == 404


def test_an_error_about_a_field_the_form_does_not_show_is_named_by_its_label(
    client_for, workspace, owner_actor
):
    """A file sent to a link magnet: the link magnet's form has no file input, so the
    error is shown above the form as "File: …" (it was lost before), never as ``file``."""
    client, _ = client_for("marketer")
    magnet = magnets.magnet_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Course", "kind": "url", "url": "https://www.example.com/course"},
    )
    refused = client.post(
        url(workspace, f"{magnet.pk}/"),
        {
            "name": "Course",
            "url": "https://www.example.com/course",
            "link_days": "7",
            "file": SimpleUploadedFile("guide.pdf", b"%PDF-1.4 guide"),
        },
    )
    assert refused.status_code == 422
    assert "File: Only a file magnet has a file." in refused.content.decode()
    magnet.refresh_from_db()
    assert not magnet.file_name
