"""Writes for lead magnets: making them, their files and codes, granting one to a lead.

Guarantees:

- one grant per magnet and lead (``magnet_grant``): a retried or repeated submission finds
  the same grant, so the same code and seat, never two;
- a pool code goes to one lead only (the row is taken by a conditional UPDATE; on
  PostgreSQL concurrent takers skip each other's locked rows); a pattern code is unique per
  magnet by a constraint;
- seats never exceed the capacity: ``seats_taken`` grows only by an UPDATE whose WHERE
  checks it is below the capacity (PostgreSQL re-checks it after waiting on the row lock);
  the others join the waiting list;
- a seat that frees up (a larger capacity, a seat released by a member, a merge) goes to
  the first leads of the waiting list in arrival order, in the transaction that freed it,
  with the magnet's row locked first (``select_for_update``): two releases at once take
  turns, so neither seats a lead twice nor beyond the capacity. Each seated lead gets a
  ``magnet.seated`` activity and the delivery email (``magnet_deliver``, once);
- a grant's delivery email is scheduled once per grant (``form_magnet_grant``; the task
  sends it once). Links are ``capture.magnet_links``.
"""

import mimetypes
import re
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from leadflow.capture.magnet_kinds import MAGNET_SEAT_RELEASED, MAGNET_SEATED, magnet_data
from leadflow.capture.models import Magnet, MagnetCode, MagnetGrant, MagnetKind, SeatStatus
from leadflow.contacts.activity_log import activities_announce
from leadflow.contacts.models import Activity
from leadflow.contacts.services.activities import activity_record
from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, DomainError, FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record
from leadflow.core.tasks import task_schedule

DELIVER_TASK = "leadflow.capture.tasks.magnet_deliver"
# What an uploaded file may be (by extension and the type it implies).
FILE_TYPES = {
    ".pdf": "application/pdf",
    ".zip": "application/zip",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mov": "video/quicktime",
    ".epub": "application/epub+zip",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
# The first bytes of the kinds we can check cheaply: a .pdf must look like a PDF.
FILE_MAGIC = {".pdf": (b"%PDF",), ".zip": (b"PK\x03\x04", b"PK\x05\x06")}
MAGNET_FIELDS = (
    "name",
    "kind",
    "description",
    "active",
    "url",
    "code_pattern",
    "single_use",
    "capacity",
    "event_at",
    "link_days",
    "max_downloads",
)
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_\-#X]{4,60}$")
MAX_POOL_UPLOAD = 100_000


class CodeNotRedeemable(DomainError):
    status = 409
    code = "code_used"
    title = "This code cannot be redeemed"


# --- magnets ----------------------------------------------------------------------------------


def _int_or_none(errors: list[FieldError], name: str, value: Any, low: int, high: int):
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors.append(FieldError(name, f"A whole number from {low} to {high}."))
        return None
    return value


def _magnet_clean(data: dict[str, Any], magnet: Magnet | None) -> dict[str, Any]:
    errors = [FieldError(key, "Unknown field.") for key in data if key not in MAGNET_FIELDS]
    clean: dict[str, Any] = {key: data[key] for key in MAGNET_FIELDS if key in data}
    kind = clean.get("kind", magnet.kind if magnet else None)
    if magnet is not None and "kind" in clean and clean["kind"] != magnet.kind:
        errors.append(FieldError("kind", "A magnet keeps its kind; make a new one."))
    if kind not in MagnetKind.values:
        errors.append(FieldError("kind", "Choose file, url, code or seat."))
    if "name" in clean or magnet is None:
        name = clean.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            errors.append(FieldError("name", "A name of at most 200 characters."))
        else:
            clean["name"] = name.strip()
    if "description" in clean and (
        not isinstance(clean["description"], str) or len(clean["description"]) > 5000
    ):
        errors.append(FieldError("description", "Text of at most 5000 characters."))
    for flag in ("active", "single_use"):
        if flag in clean and not isinstance(clean[flag], bool):
            errors.append(FieldError(flag, "True or false."))
    url = clean.get("url", magnet.url if magnet else "")
    if "url" in clean and (not isinstance(url, str) or len(url) > 2000):
        errors.append(FieldError("url", "Use a full http(s) URL."))
    elif url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except DjangoValidationError:
            errors.append(FieldError("url", "Use a full http(s) URL."))
    if kind == MagnetKind.URL and not url:
        errors.append(FieldError("url", "An external link needs its URL."))
    pattern = clean.get("code_pattern")
    if pattern and (
        not isinstance(pattern, str)
        or not CODE_PATTERN.match(pattern)
        or pattern.count("#") + pattern.count("X") < 4
    ):
        errors.append(
            FieldError(
                "code_pattern",
                "4 to 60 letters, digits, - or _, with at least 4 random places "
                "(# a digit, X a letter or digit), such as SPRING-XXXXXX.",
            )
        )
    if "capacity" in clean:
        clean["capacity"] = _int_or_none(errors, "capacity", clean["capacity"], 1, 1_000_000)
        if kind == MagnetKind.SEAT and clean["capacity"] is None and "capacity" in data:
            pass  # no capacity: every lead gets a seat
        if magnet is not None and clean["capacity"] is not None:
            if clean["capacity"] < magnet.seats_taken:
                errors.append(
                    FieldError(
                        "capacity", f"{magnet.seats_taken} seats are taken; it cannot be lower."
                    )
                )
    if "link_days" in clean:
        days = _int_or_none(errors, "link_days", clean["link_days"], 1, 365)
        clean["link_days"] = days or 7
    if "max_downloads" in clean:
        clean["max_downloads"] = _int_or_none(
            errors, "max_downloads", clean["max_downloads"], 1, 10_000
        )
    if clean.get("event_at") is not None and not hasattr(clean["event_at"], "tzinfo"):
        errors.append(FieldError("event_at", "A date and time."))
    if errors:
        raise ValidationFailed(errors)
    return clean


def max_megabytes() -> int:
    return settings.LEADFLOW_MAGNET_MAX_BYTES // (1024 * 1024)


def file_check(upload: UploadedFile) -> tuple[str, str]:
    """(file name, content type) of an acceptable upload, else ValidationFailed: a known
    type by extension, within LEADFLOW_MAGNET_MAX_BYTES, and for PDF and ZIP starting as
    one does."""
    name = (upload.name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:200]
    extension = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if extension not in FILE_TYPES:
        allowed = ", ".join(sorted(FILE_TYPES))
        raise ValidationFailed([FieldError("file", f"Upload one of: {allowed}.")])
    if upload.size is None or upload.size > settings.LEADFLOW_MAGNET_MAX_BYTES:
        raise ValidationFailed([FieldError("file", f"At most {max_megabytes()} MB.")])
    if upload.size == 0:
        raise ValidationFailed([FieldError("file", "The file is empty.")])
    magic = FILE_MAGIC.get(extension)
    if magic:
        upload.seek(0)
        head = upload.read(8)
        upload.seek(0)
        if not head.startswith(magic):
            raise ValidationFailed([FieldError("file", f"This is not a {extension} file.")])
    return name, FILE_TYPES[extension] or mimetypes.guess_type(name)[0] or ""


def _file_attach(magnet: Magnet, upload: UploadedFile | None) -> None:
    if upload is None:
        return
    name, content_type = file_check(upload)
    magnet.file.save(name, upload, save=False)
    magnet.file_name, magnet.file_size, magnet.content_type = name, upload.size, content_type


@transaction.atomic
def magnet_create(
    *,
    workspace: Workspace,
    data: dict[str, Any],
    actor: Actor,
    file: UploadedFile | None = None,
) -> Magnet:
    """A new magnet. A file magnet takes its ``file`` (checked by ``file_check``); made
    without one, it stays inactive until a file is uploaded."""
    clean = _magnet_clean(data, None)
    magnet = Magnet(workspace=workspace, **clean)
    _file_attach(magnet, file)
    if magnet.kind == MagnetKind.FILE and not magnet.file:
        if clean.get("active"):
            raise ValidationFailed([FieldError("file", "A file magnet needs its file.")])
        magnet.active = False  # until its file is uploaded (the API's second step)
    magnet.save()
    audit_record(workspace=workspace, actor=actor, action="magnet.created", obj=magnet)
    return magnet


@transaction.atomic
def magnet_update(
    *,
    workspace: Workspace,
    magnet_id: int,
    data: dict[str, Any],
    actor: Actor,
    file: UploadedFile | None = None,
    base_url: str = "",
) -> Magnet:
    """Change a magnet; a larger capacity seats the waiting list in arrival order (each
    seated lead is emailed, with links on ``base_url`` unless LEADFLOW_BASE_URL is set)."""
    magnet = Magnet.objects.select_for_update().filter(workspace=workspace, pk=magnet_id).first()
    if magnet is None:
        raise NotFound("No such magnet.")
    clean = _magnet_clean(data, magnet)
    if file is not None and magnet.kind != MagnetKind.FILE:
        raise ValidationFailed([FieldError("file", "Only a file magnet has a file.")])
    for key, value in clean.items():
        setattr(magnet, key, value)
    _file_attach(magnet, file)
    if magnet.kind == MagnetKind.FILE and magnet.active and not magnet.file:
        raise ValidationFailed([FieldError("file", "Upload the file before switching it on.")])
    magnet.updated_at = timezone.now()
    magnet.save()
    if magnet.kind == MagnetKind.SEAT:
        _waiting_list_seat(magnet, base_url)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="magnet.updated",
        obj=magnet,
        changes={key: "changed" for key in clean} | ({"file": "changed"} if file else {}),
    )
    return magnet


def _waiting_list_seat(magnet: Magnet, base_url: str = "") -> int:
    """Seat waiting leads, first come first seated, while seats are free. The caller holds
    the magnet's row lock (``select_for_update``) and ``magnet`` carries its current
    ``seats_taken``. Each seated lead gets a ``magnet.seated`` activity (one INSERT for all)
    and the delivery email through ``magnet_deliver`` after the commit. Returns how many."""
    free = None if magnet.capacity is None else magnet.capacity - magnet.seats_taken
    if free is not None and free <= 0:
        return 0
    waiting = (
        MagnetGrant.objects.select_for_update()
        .filter(magnet=magnet, seat=SeatStatus.WAITING)
        .order_by("created_at", "pk")
    )
    rows = list((waiting[:free] if free is not None else waiting).values_list("pk", "contact_id"))
    if not rows:
        return 0
    now = timezone.now()
    seated = MagnetGrant.objects.filter(
        pk__in=[pk for pk, _ in rows], seat=SeatStatus.WAITING
    ).update(seat=SeatStatus.SEATED, seated_at=now)
    if seated != len(rows):  # the grants are locked: only a bug could change them meanwhile
        raise IntegrityError("waiting list changed while seating")
    Magnet.objects.filter(pk=magnet.pk).update(seats_taken=F("seats_taken") + seated)
    magnet.seats_taken += seated
    actor = Actor.system(f"magnet: {magnet.name}"[:200])
    written = Activity.objects.bulk_create(
        [
            Activity(
                workspace_id=magnet.workspace_id,
                contact_id=contact_id,
                kind=MAGNET_SEATED,
                actor_label=actor.label,
                data=magnet_data(magnet_id=magnet.pk, name=magnet.name),
                occurred_at=now,
            )
            for _, contact_id in rows
        ]
    )
    activities_announce(
        workspace_id=magnet.workspace_id,
        contact_ids=[contact_id for _, contact_id in rows],
        up_to_id=max(activity.pk for activity in written),
    )
    if magnet.active:
        for pk, _ in rows:
            task_schedule(DELIVER_TASK, pk, base_url)
    return seated


@transaction.atomic
def magnet_seat_release(
    *, workspace: Workspace, magnet_id: int, contact_id: int, actor: Actor, base_url: str = ""
) -> MagnetGrant:
    """Release a lead's seat (they cancelled, or a member frees it): the grant becomes
    ``released`` (its link shows the seat is gone; the lead is not put back on the list),
    and the freed seat goes at once to the first lead on the waiting list, who is emailed.
    The magnet's row is locked before the grant's, as every seat change does: a second
    release of the same seat waits, then finds none (Conflict, 409). NotFound for another
    workspace's magnet, or a lead without a grant of it."""
    magnet = (
        Magnet.objects.select_for_update()
        .filter(workspace=workspace, pk=magnet_id, kind=MagnetKind.SEAT)
        .first()
    )
    if magnet is None:
        raise NotFound("No such event magnet.")
    grant = (
        MagnetGrant.objects.select_for_update(of=("self",))
        .select_related("contact")
        .filter(workspace=workspace, magnet=magnet, contact_id=contact_id)
        .first()
    )
    if grant is None:
        raise NotFound("No such lead for this magnet.")
    if grant.seat != SeatStatus.SEATED:
        raise Conflict("This lead holds no seat.")
    grant.seat = SeatStatus.RELEASED
    grant.save(update_fields=["seat"])
    Magnet.objects.filter(pk=magnet.pk).update(seats_taken=F("seats_taken") - 1)
    magnet.seats_taken -= 1
    activity_record(
        workspace=workspace,
        contact=grant.contact,
        kind=MAGNET_SEAT_RELEASED,
        actor=actor,
        data=magnet_data(magnet_id=magnet.pk, name=magnet.name),
    )
    seated = _waiting_list_seat(magnet, base_url)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="magnet.seat_released",
        obj=magnet,
        changes={"contact_id": grant.contact_id, "seated_from_waiting_list": seated},
    )
    return grant


@transaction.atomic
def magnet_delete(*, workspace: Workspace, magnet_id: int, actor: Actor) -> None:
    """Delete a magnet with its grants and codes; forms that offered it offer nothing."""
    magnet = Magnet.objects.filter(workspace=workspace, pk=magnet_id).first()
    if magnet is None:
        raise NotFound("No such magnet.")
    audit_record(workspace=workspace, actor=actor, action="magnet.deleted", obj=magnet)
    stored = magnet.file.name
    magnet.delete()
    if stored:
        storage = magnet.file.storage
        transaction.on_commit(lambda: storage.delete(stored))


@transaction.atomic
def magnet_codes_add(
    *, workspace: Workspace, magnet_id: int, codes: list[str], actor: Actor
) -> tuple[int, int]:
    """Add codes to a code magnet's pool; returns (added, skipped: already in the pool or
    given twice). Each code is 1 to 100 printable characters without spaces."""
    magnet = Magnet.objects.filter(workspace=workspace, pk=magnet_id).first()
    if magnet is None:
        raise NotFound("No such magnet.")
    if magnet.kind != MagnetKind.CODE:
        raise ValidationFailed([FieldError("codes", "Only a code magnet has a pool of codes.")])
    given = [code.strip() for code in codes if code.strip()]
    wanted = list(dict.fromkeys(given))
    if not wanted:
        raise ValidationFailed([FieldError("codes", "Give at least one code.")])
    if len(wanted) > MAX_POOL_UPLOAD:
        raise ValidationFailed([FieldError("codes", f"At most {MAX_POOL_UPLOAD} at once.")])
    bad = [code for code in wanted if len(code) > 100 or not code.isprintable() or " " in code]
    if bad:
        raise ValidationFailed(
            [FieldError("codes", f"Not a code: {bad[0][:40]!r} (1–100 characters, no spaces).")]
        )
    before = MagnetCode.objects.filter(magnet=magnet).count()
    MagnetCode.objects.bulk_create(
        [MagnetCode(magnet=magnet, code=code) for code in wanted], ignore_conflicts=True
    )
    added = MagnetCode.objects.filter(magnet=magnet).count() - before
    audit_record(
        workspace=workspace,
        actor=actor,
        action="magnet.codes_added",
        obj=magnet,
        changes={"added": added},
    )
    return added, len(given) - added


@transaction.atomic
def magnet_code_redeem(*, workspace: Workspace, magnet_id: int, code: str) -> MagnetGrant:
    """Redeem a lead's code (a checkout reports it). A single-use code redeems once; a
    second time answers CodeNotRedeemable (409). An unknown code is NotFound."""
    grant = (
        MagnetGrant.objects.select_for_update()
        .filter(workspace=workspace, magnet_id=magnet_id, code=code)
        .exclude(code="")
        .select_related("magnet")
        .first()
    )
    if grant is None:
        raise NotFound("No lead has this code.")
    if grant.magnet.single_use and grant.redemptions:
        raise CodeNotRedeemable("This code has been used.")
    grant.redemptions += 1
    grant.redeemed_at = grant.redeemed_at or timezone.now()
    grant.save(update_fields=["redemptions", "redeemed_at"])
    return grant


# --- granting -------------------------------------------------------------------------------


def _pattern_code(pattern: str) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
    return "".join(
        secrets.choice("0123456789")
        if char == "#"
        else secrets.choice(alphabet)
        if char == "X"
        else char
        for char in pattern
    )


def _pool_code(magnet: Magnet, grant: MagnetGrant) -> str:
    """Take a free pool code for ``grant``: '' when the pool is empty."""
    free = MagnetCode.objects.filter(magnet=magnet, given_at__isnull=True).order_by("pk")
    for _ in range(5):
        if connection.features.has_select_for_update_skip_locked:
            candidate = free.select_for_update(skip_locked=True).first()
        else:
            candidate = free.first()
        if candidate is None:
            return ""
        if MagnetCode.objects.filter(pk=candidate.pk, given_at__isnull=True).update(
            grant=grant, given_at=timezone.now()
        ):
            return candidate.code
    return ""


def _seat_take(magnet: Magnet) -> str:
    """A seat when one is free, else the waiting list (one conditional UPDATE)."""
    seats = Magnet.objects.filter(pk=magnet.pk)
    if magnet.capacity is not None:
        seats = seats.filter(capacity__isnull=False, seats_taken__lt=F("capacity"))
    taken = seats.update(seats_taken=F("seats_taken") + 1)
    return SeatStatus.SEATED if taken else SeatStatus.WAITING


def magnet_grant(*, magnet: Magnet, contact_id: int, submission_id: int | None) -> MagnetGrant:
    """The lead's grant of ``magnet``: the one already made, or a new one with its code or
    seat. Joins the caller's transaction (a submission's or a confirmation's)."""
    known = MagnetGrant.objects.filter(magnet=magnet, contact_id=contact_id).first()
    if known is not None:
        return known
    for _ in range(5):
        try:
            with transaction.atomic():
                grant = MagnetGrant.objects.create(
                    workspace_id=magnet.workspace_id,
                    magnet=magnet,
                    contact_id=contact_id,
                    submission_id=submission_id,
                    code=_pattern_code(magnet.code_pattern)
                    if magnet.kind == MagnetKind.CODE and magnet.code_pattern
                    else "",
                )
                if magnet.kind == MagnetKind.CODE and not magnet.code_pattern:
                    grant.code = _pool_code(magnet, grant)
                if magnet.kind == MagnetKind.SEAT:
                    grant.seat = _seat_take(magnet)
                if grant.code or grant.seat:
                    grant.save(update_fields=["code", "seat"])
                return grant
        except IntegrityError:
            # The same lead at the same moment (take theirs), or a pattern code drawn twice.
            known = MagnetGrant.objects.filter(magnet=magnet, contact_id=contact_id).first()
            if known is not None:
                return known
    raise IntegrityError("Could not draw a unique code; widen the magnet's pattern.")


def form_magnet_grant(
    *, magnet_id: int, contact_id: int, submission_id: int | None, base_url: str
) -> MagnetGrant | None:
    """A form's magnet for a lead, and its delivery email scheduled after the commit (it
    goes once, whatever calls this again). None when the magnet is gone or switched off."""
    magnet = Magnet.objects.filter(pk=magnet_id, active=True).first()
    if magnet is None:
        return None
    grant = magnet_grant(magnet=magnet, contact_id=contact_id, submission_id=submission_id)
    if grant.delivered_at is None:
        task_schedule(DELIVER_TASK, grant.pk, base_url)
    return grant


def seats_give_back(workspace: Workspace, contact_ids: list[int]) -> int:
    """A delete hook (contacts' ``DELETE_HOOKS``): the seats these contacts hold are
    released, in the deleting transaction, and each goes to the first lead on its waiting
    list (a deleted lead must not keep a seat nobody can use). Magnets are locked in id
    order, as every seat change locks the magnet first. Returns the seats given back."""
    held = (
        MagnetGrant.objects.filter(
            workspace=workspace, contact_id__in=contact_ids, seat=SeatStatus.SEATED
        )
        .values_list("magnet_id", flat=True)
        .order_by("magnet_id")
        .distinct()
    )
    released = 0
    for magnet_id in list(held):
        magnet = Magnet.objects.select_for_update().get(pk=magnet_id)
        count = MagnetGrant.objects.filter(
            magnet_id=magnet_id, contact_id__in=contact_ids, seat=SeatStatus.SEATED
        ).update(seat=SeatStatus.RELEASED)
        Magnet.objects.filter(pk=magnet_id).update(seats_taken=F("seats_taken") - count)
        magnet.seats_taken -= count
        released += count
        _waiting_list_seat(magnet)
    return released


def grants_merge(workspace: Workspace, from_id: int, to_id: int) -> None:
    """A merge hook (contacts' ``MERGE_HOOKS``): the merged contact's grants go to the
    contact that stays, except for magnets it has already (one grant per magnet); those go
    with the merged contact, and their seats are given back to the waiting list."""
    already = MagnetGrant.objects.filter(workspace=workspace, contact_id=to_id).values("magnet_id")
    grants = MagnetGrant.objects.filter(workspace=workspace, contact_id=from_id)
    grants.exclude(magnet_id__in=already).update(contact_id=to_id)
    for magnet_id in grants.filter(seat=SeatStatus.SEATED).values_list("magnet_id", flat=True):
        magnet = Magnet.objects.select_for_update().get(pk=magnet_id)
        grants.filter(magnet_id=magnet_id).update(seat=SeatStatus.NONE)
        Magnet.objects.filter(pk=magnet_id).update(seats_taken=F("seats_taken") - 1)
        magnet.seats_taken -= 1
        _waiting_list_seat(magnet)
