"""The bulk contact writer: a chunk of clean rows written with a few set-based statements,
after working out which contact each row is. A public module of contacts: it takes plain
values (the workspace, the options, the rows, and the data every activity it writes
records), not an import job; the imports app (``imports.run``) is its caller today. It
announces the activities it appends (``activities_announce``, once per chunk's transaction,
up to the highest id the insert wrote).

Guarantees:
- rows find their contacts as ``contact_upsert`` called once per row in file order would:
  by email; without an email, by phone, preferring the contact known only by that phone;
  contacts created or changed by earlier rows of the same chunk count, so a contact is
  written once however many rows (by email or by phone) found it, and the extra rows are
  counted as skipped;
- an existing contact takes the rows' non-empty values (``conflict="file"``, the default)
  or keeps its own and only fills its empty fields (``conflict="existing"``); tags are
  added, never removed; the first touch is kept; a row's ``created_at`` is a new contact's
  creation date, and lowers an existing contact's later one only with the
  ``backdate_existing`` option; a row's ``outcome`` (won / lost) and ``outcome_at`` are
  stored like the other values (``conflict="existing"`` keeps a contact's own); a new
  contact's ``stage_changed_at`` is its creation date, and an existing contact whose
  stage the row changes gets the time of the write; a row's ``note`` becomes a note on
  the contact's timeline, unless the contact has that very note already (so a file
  imported twice adds it once);
- per chunk: one locked lookup, companies and tags in bulk, one insert of the new contacts,
  one update of the changed ones, the tag links, one ``contact.imported`` activity per
  created or changed contact and one ``note.added`` per new note. On PostgreSQL the
  contacts and activities are written with COPY (decision 0013); elsewhere with the ORM's
  bulk statements.

Longer than the house's ~600 lines: the locked and the pipelined writes (decisions 0013,
0014) share the chunk's preparation and must stay in step; a split would make their shared
invariants harder to see.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import BooleanField, F, Q
from django.db.models.base import ModelState
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils import timezone

from leadflow.contacts.activity_log import activities_announce
from leadflow.contacts.identity import company_domain, company_name_from_domain
from leadflow.contacts.inputs import required_custom_fields_missing
from leadflow.contacts.kind_writers import note_added_data
from leadflow.contacts.models import (
    MARKETING_PURPOSE,
    Activity,
    ActivityKind,
    Company,
    ConsentSource,
    ConsentStatus,
    Contact,
    CustomField,
    Tag,
)
from leadflow.contacts.services import (
    ConsentGiven,
    changes_jsonable,
    consent_record_many,
    contact_values_apply,
)
from leadflow.core.actors import Actor
from leadflow.core.models import Workspace
from leadflow.core.validation import email_domain


@dataclass
class RowProblem:
    """A row that was not stored (``stored`` false) or was stored without the values named
    in ``reasons``; ``values`` are the row's cells as read, for the problems file."""

    number: int  # the row's line in a spreadsheet: the header is row 1
    values: list[str]
    reasons: list[tuple[str, str]]  # (column, reason)
    stored: bool = False


@dataclass
class ImportRow:
    number: int  # the row's line in a spreadsheet: the header is row 1
    clean: dict[str, Any]
    values: list[str] = field(default_factory=list)  # the cells as read
    warnings: list[tuple[str, str]] = field(default_factory=list)  # values left out


@dataclass
class ChunkResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: list[RowProblem] = field(default_factory=list)  # rows not stored
    warned: list[RowProblem] = field(default_factory=list)  # rows stored without some values


@dataclass(eq=False)  # compared by identity: two new contacts may hold equal values
class _Target:
    """One contact the chunk writes, and what its rows did to it."""

    contact: Contact
    new: bool
    rank: int  # lookup order (existing) or creation order (new): breaks phone ties
    rows: list[int] = field(default_factory=list)
    changes: dict[str, list] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    company_name: str = ""
    added_tags: list[str] = field(default_factory=list)
    seen: Any = None  # an existing contact's updated_at when it was read
    notes: list[str] = field(default_factory=list)  # the rows' notes, not yet on the timeline
    consents: list[str] = field(default_factory=list)  # marketing consent rows to append


class ContactsChanged(Exception):
    """A contact the chunk read without a lock was changed by another writer before the
    chunk wrote it: nothing of the chunk is kept, and it is written again under locks."""


class _Identities:
    """The chunk's contacts by email and by phone, kept current as rows change them."""

    def __init__(self) -> None:
        self.by_email: dict[str, _Target] = {}
        self.by_phone: dict[str, list[_Target]] = {}

    def add(self, target: _Target) -> None:
        if target.contact.email:
            self.by_email[target.contact.email] = target
        if target.contact.phone:
            self.by_phone.setdefault(target.contact.phone, []).append(target)

    def phone_moved(self, target: _Target, old: str | None) -> None:
        if old and target in self.by_phone.get(old, []):
            self.by_phone[old].remove(target)
        if target.contact.phone:
            self.by_phone.setdefault(target.contact.phone, []).append(target)

    def by_phone_only(self, phone: str) -> _Target | None:
        """As ``contact_upsert``: the contact known only by this phone, else one with an
        email (existing ones in the lookup's order, then the chunk's new ones)."""
        candidates = self.by_phone.get(phone)
        if not candidates:
            return None
        return min(candidates, key=lambda t: (t.contact.email is not None, t.new, t.rank))


# Every stored column of a contact (not the generated search text), by attribute name.
_ATTRIBUTES = [f.attname for f in Contact._meta.concrete_fields if not f.generated]
_DEFAULTS = {
    f.attname: f.get_default()
    for f in Contact._meta.concrete_fields
    if not f.generated and f.attname not in ("custom_fields", "created_at", "updated_at")
}


def _contact(values: dict[str, Any], *, adding: bool) -> Contact:
    """A Contact without ``Model.__init__`` (a tenth of its cost, which counts at a thousand
    rows a chunk): the defaults, then ``values``; as ``Model.from_db`` would, for a row read.
    """
    contact = Contact.__new__(Contact)
    contact.__dict__.update(_DEFAULTS)
    contact.__dict__.update(values)
    contact._state = ModelState()
    contact._state.adding = adding
    contact._state.db = None if adding else "default"
    return contact


def _among(column: str, values: Iterable[str]) -> Q:
    """``column IN values``; on PostgreSQL one array parameter (``= ANY``): a thousand
    placeholders cost the ORM and the driver more to build than the database to run."""
    if connection.vendor == "postgresql":
        # The column is one of this module's names, never input.
        condition = RawSQL(f"{column} = ANY(%s)", [list(values)], output_field=BooleanField())  # noqa: S611
        return Q(condition)
    return Q(**{f"{column}__in": values})


def _existing(workspace: Workspace, rows: list[ImportRow], *, lock: bool = True) -> list[Contact]:
    """The contacts the rows may name, in ``contact_upsert``'s phone preference order;
    locked (a concurrent upsert waits for the chunk) unless ``lock`` is false."""
    emails = [row.clean["email"] for row in rows if row.clean.get("email")]
    phones = [row.clean["phone"] for row in rows if not row.clean.get("email")]
    if not emails and not phones:
        return []
    found = Contact.objects.filter(workspace=workspace)
    if lock:
        found = found.select_for_update()
    found = (
        found.filter(_among("email", emails) | _among("phone", phones))
        .order_by(F("email").asc(nulls_first=True), "id")
        .values_list(*_ATTRIBUTES)
    )
    return [_contact(dict(zip(_ATTRIBUTES, row, strict=True)), adding=False) for row in found]


def _contact_copy(contact: Contact) -> Contact:
    values = {name: contact.__dict__[name] for name in _ATTRIBUTES}
    values["custom_fields"] = dict(values["custom_fields"] or {})
    return _contact(values, adding=False)


def _overlaid(
    rows: list[ImportRow], found: list[Contact], overlay: list[tuple[Contact, Any]]
) -> tuple[list[Contact], dict[int, Any]]:
    """The rows' contacts as they will be once the previous chunk commits: ``found`` (read
    while that chunk was being written) with its contacts replaced by ``overlay`` (copies of
    them as that chunk writes them, with the updated_at they were read with), in the lookup's
    order; and what each contact's updated_at was when read."""
    emails = {row.clean["email"] for row in rows if row.clean.get("email")}
    phones = {row.clean["phone"] for row in rows if not row.clean.get("email")}
    ahead = {contact.pk for contact, _ in overlay}
    contacts = [contact for contact in found if contact.pk not in ahead]
    seen = {contact.pk: contact.updated_at for contact in contacts}
    for contact, updated_at in overlay:
        if contact.email in emails or contact.phone in phones:
            copy = _contact_copy(contact)
            contacts.append(copy)
            seen[copy.pk] = updated_at
    contacts.sort(key=lambda contact: (contact.email is not None, contact.pk))
    return contacts, seen


def _changes_add(total: dict[str, list], changes: dict[str, list]) -> None:
    for name, (old, new) in changes.items():
        total[name] = [total[name][0] if name in total else old, new]


def _update(target: _Target, clean: dict[str, Any], *, keep_existing: bool, backdate: bool) -> dict:
    """Apply one row to a contact the chunk already holds; {field: [old, new]}. The
    created date moves back only with ``backdate`` (or on a contact the chunk creates)."""
    contact = target.contact
    values = {
        key: value
        for key, value in clean.items()
        if value not in (None, "") or key == "custom_fields"
    }
    if keep_existing and values.get("custom_fields"):
        present = contact.custom_fields or {}
        values["custom_fields"] = {
            key: value for key, value in values["custom_fields"].items() if key not in present
        }
    stage = contact.lifecycle_stage
    changes = contact_values_apply(contact, values, fill_only=keep_existing)
    changes |= _outcome_apply(contact, clean, fill_only=keep_existing)
    changes |= _consent_apply(target, clean, fill_only=keep_existing)
    if contact.lifecycle_stage != stage:
        contact.stage_changed_at = timezone.now()
    created_at = clean.get("created_at")
    if backdate and created_at and created_at < contact.created_at:
        changes["created_at"] = [contact.created_at, created_at]
        contact.created_at = created_at
    return changes


def _consent_apply(target: _Target, clean: dict[str, Any], *, fill_only: bool) -> dict:
    """A row's marketing consent, to be appended to the ledger when the chunk is written
    (``target.consents``); the contact in memory takes the status the ledger will derive,
    so the chunk's writes (and the next chunk's overlay) agree with it. "unknown" and the
    status the contact has already add nothing (a file imported twice appends once); a
    grant to a confirmed contact stays confirmed; ``fill_only`` sets only an unknown one."""
    status = clean.get("consent_status")
    contact = target.contact
    current = contact.consent_status
    if (
        not status
        or status in (ConsentStatus.UNKNOWN, current)
        or (fill_only and current != ConsentStatus.UNKNOWN)
        or (current == ConsentStatus.CONFIRMED and status == ConsentStatus.GRANTED)
    ):
        return {}
    target.consents.append(status)
    contact.consent_status = status
    return {"consent_status": [current, status]}


def _outcome_apply(contact: Contact, clean: dict[str, Any], *, fill_only: bool) -> dict:
    """Set a row's outcome (won / lost) and outcome date; {field: [old, new]}."""
    changes: dict[str, list] = {}
    for name in ("outcome", "outcome_at"):
        value = clean.get(name)
        old = getattr(contact, name)
        if value not in (None, "") and old != value and not (fill_only and old):
            changes[name] = [old, value]
            setattr(contact, name, value)
    return changes


def _resolve(
    *,
    workspace: Workspace,
    rows: list[ImportRow],
    existing: list[Contact],
    options: dict,
    definitions: list[CustomField],
    now,
    result: ChunkResult,
    seen: dict[int, Any] | None = None,
) -> list[_Target]:
    """Run the rows in order against the chunk's contacts; the contacts they touch."""
    identities = _Identities()
    for rank, contact in enumerate(existing):
        read = seen[contact.pk] if seen is not None else contact.updated_at
        identities.add(_Target(contact=contact, new=False, rank=rank, seen=read))
    update_existing = options.get("update_existing", True)
    keep_existing = options.get("conflict") == "existing"
    backdate = bool(options.get("backdate_existing"))
    initial = {key: options[key] for key in ("lifecycle_stage", "owner_id") if options.get(key)}
    touched: dict[int, _Target] = {}
    created = 0
    for row in rows:
        clean = row.clean
        target = (
            identities.by_email.get(clean["email"])
            if clean.get("email")
            else identities.by_phone_only(clean["phone"])
        )
        if target is None:
            missing = required_custom_fields_missing(definitions, clean.get("custom_fields") or {})
            if missing:
                reasons = [*row.warnings, *[(e.field, e.message) for e in missing]]
                result.failed.append(RowProblem(row.number, row.values, reasons))
                continue
            contact = _contact(
                {
                    "workspace_id": workspace.pk,
                    "custom_fields": {},
                    "created_at": clean.get("created_at") or now,
                    "updated_at": now,
                },
                adding=True,
            )
            contact_values_apply(contact, {**initial, **clean})
            _outcome_apply(contact, clean, fill_only=False)
            contact.stage_changed_at = contact.created_at
            target = _Target(contact=contact, new=True, rank=created)
            _consent_apply(target, clean, fill_only=False)
            created += 1
            identities.add(target)
        elif not target.new and not update_existing:
            result.skipped += 1
            continue
        else:
            phone = target.contact.phone
            changes = _update(
                target,
                clean,
                keep_existing=keep_existing and not target.new,
                backdate=backdate or target.new,
            )
            _changes_add(target.changes, changes)
            if target.contact.phone != phone:
                identities.phone_moved(target, phone)
        if target.rows:
            result.skipped += 1  # one more row of a contact the chunk writes once
        target.rows.append(row.number)
        if row.warnings:
            result.warned.append(RowProblem(row.number, row.values, row.warnings, stored=True))
        if clean.get("note") and clean["note"] not in target.notes:
            target.notes.append(clean["note"])
        target.tags = list(dict.fromkeys([*target.tags, *clean.get("tags", [])]))
        # As contact_upsert: the company is settled by the first row that can settle it.
        target.company_name = target.company_name or clean.get("company", "")
        touched[id(target)] = target
    for target in touched.values():
        target.changes = {name: pair for name, pair in target.changes.items() if pair[0] != pair[1]}
    return list(touched.values())


def _companies_for(workspace: Workspace, contacts: list[tuple[Contact, str]]) -> None:
    """Set the company of each (contact, company name) pair: by corporate email domain,
    else by name (as ``company_for_contact``); missing companies are created in bulk."""
    by_domain: list[tuple[Contact, str, str]] = []
    by_name: list[tuple[Contact, str]] = []
    for contact, name in contacts:
        domain = company_domain(email_domain(contact.email)) if contact.email else ""
        if domain:
            by_domain.append((contact, domain, name))
        elif name:
            by_name.append((contact, name))
    if by_domain:
        names: dict[str, str] = {}
        for _, domain, name in by_domain:
            if name:
                names.setdefault(domain, name)
        wanted = {domain for _, domain, _ in by_domain}
        found = dict(
            Company.objects.filter(_among("domain", wanted), workspace=workspace).values_list(
                "domain", "id"
            )
        )
        missing = wanted - set(found)
        if missing:
            Company.objects.bulk_create(
                [
                    Company(
                        workspace=workspace,
                        domain=domain,
                        name=names.get(domain) or company_name_from_domain(domain),
                    )
                    for domain in sorted(missing)
                ],
                ignore_conflicts=True,
            )
            found |= dict(
                Company.objects.filter(_among("domain", missing), workspace=workspace).values_list(
                    "domain", "id"
                )
            )
        for contact, domain, _ in by_domain:
            contact.company_id = found[domain]
    if by_name:
        wanted_names: dict[str, str] = {}
        for _, name in by_name:
            wanted_names.setdefault(name.lower(), name)
        found_names: dict[str, int] = {}
        for lowered, company_id in (
            Company.objects.annotate(lowered=Lower("name"))
            .filter(workspace=workspace, lowered__in=list(wanted_names))
            .order_by("-id")
            .values_list("lowered", "id")
        ):
            found_names[lowered] = company_id  # the oldest wins, as in company_for_contact
        missing_names = [name for key, name in wanted_names.items() if key not in found_names]
        if missing_names:
            created = Company.objects.bulk_create(
                [Company(workspace=workspace, name=name) for name in missing_names]
            )
            found_names |= {company.name.lower(): company.pk for company in created}
        for contact, name in by_name:
            contact.company_id = found_names[name.lower()]


def _tag_ids(workspace: Workspace, names: list[str]) -> dict[str, int]:
    if not names:
        return {}
    Tag.objects.bulk_create(
        [Tag(workspace=workspace, name=name) for name in names], ignore_conflicts=True
    )
    return dict(Tag.objects.filter(workspace=workspace, name__in=names).values_list("name", "id"))


# --- writers -------------------------------------------------------------------------------

# What a chunk writes of a contact: every stored column but the id (the attribute names
# are the column names).
CONTACT_COLUMNS = [name for name in _ATTRIBUTES if name != "id"]
_CUSTOM_FIELDS = CONTACT_COLUMNS.index("custom_fields")
ACTIVITY_COLUMNS = [
    "workspace_id",
    "contact_id",
    "kind",
    "occurred_at",
    "actor_user_id",
    "actor_api_key_id",
    "actor_label",
    "data",
]


def _contact_values(contact: Contact, columns: list[str] = CONTACT_COLUMNS) -> list[Any]:
    """The contact's values for COPY (custom fields as JSON text)."""
    values = contact.__dict__
    return [
        json.dumps(values[name]) if name == "custom_fields" else values[name] for name in columns
    ]


class _OrmWriter:
    """The portable statements (SQLite)."""

    def contacts_insert(self, rows: list) -> None:
        Contact.objects.bulk_create(rows)

    def contacts_update(self, contacts: list[tuple[Contact, Any]]) -> None:
        # Only the locked path runs here: SQLite's transaction holds the write lock.
        fields = [name.removesuffix("_id") for name in CONTACT_COLUMNS]
        Contact.objects.bulk_update(
            [contact for contact, _ in contacts],
            fields=[name for name in fields if name != "workspace"],
            batch_size=250,
        )

    def links_copy(self, pairs: list[tuple[int, int]]) -> None:
        through = Contact.tags.through
        through.objects.bulk_create(
            [through(contact_id=contact_id, tag_id=tag_id) for contact_id, tag_id in pairs]
        )

    def links_insert(self, pairs: list[tuple[int, int]]) -> set[tuple[int, int]]:
        through = Contact.tags.through
        before = set(
            through.objects.filter(
                contact_id__in={contact_id for contact_id, _ in pairs},
                tag_id__in={tag_id for _, tag_id in pairs},
            ).values_list("contact_id", "tag_id")
        )
        added = [pair for pair in pairs if pair not in before]
        through.objects.bulk_create(
            [through(contact_id=contact_id, tag_id=tag_id) for contact_id, tag_id in added],
            ignore_conflicts=True,
        )
        return set(added)

    def contact_rows(self, contacts: list[Contact]) -> list:
        return contacts

    def activity_rows(self, rows: list[tuple]) -> list:
        activities = []
        for row in rows:
            values = dict(zip(ACTIVITY_COLUMNS, row, strict=True))
            if "changes" in values["data"]:
                values["data"] = {
                    **values["data"],
                    "changes": changes_jsonable(values["data"]["changes"]),
                }
            activities.append(Activity(**values))
        return activities

    def activities_insert(self, rows: list) -> int | None:
        """Insert; the highest id written (None for no rows)."""
        Activity.objects.bulk_create(rows)
        return rows[-1].pk if rows else None  # ids come back in order


def _array(numbers: Iterable[int]) -> str:
    return "{" + ",".join(map(str, numbers)) + "}"


class _PostgresWriter:
    """COPY for contacts and activities: no per-row model preparation, no statement with a
    parameter per value (decision 0013)."""

    UPDATE_TABLE = "import_contact_changes"

    def _copy(self, table: str, columns: list[str], rows: Iterable[Iterable[Any]]) -> None:
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"  # the models' names
        with (
            connection.cursor() as cursor,
            connection.wrap_database_errors,
            cursor.cursor.copy(statement) as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def contacts_insert(self, rows: list) -> None:
        if rows:
            self._copy(Contact._meta.db_table, ["id", *CONTACT_COLUMNS], rows)

    def contacts_update(self, contacts: list[tuple[Contact, Any]]) -> None:
        """Each (contact, the updated_at it was read with): all written only if none of
        them changed since it was read, else ``ContactsChanged``."""
        if not contacts:
            return
        table, temporary = Contact._meta.db_table, self.UPDATE_TABLE
        columns = [column for column in CONTACT_COLUMNS if column != "workspace_id"]
        with connection.cursor() as cursor:
            # Session-wide, emptied at commit; emptied here too for nested transactions.
            select = f"SELECT id, {', '.join(columns)}, updated_at AS seen FROM {table}"  # noqa: S608
            cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {temporary} ON COMMIT DELETE ROWS AS "
                f"{select} WITH NO DATA"
            )
            cursor.execute(f"DELETE FROM {temporary}")  # noqa: S608 - a fixed name
        self._copy(
            temporary,
            ["id", *columns, "seen"],
            ([contact.pk, *_contact_values(contact, columns), seen] for contact, seen in contacts),
        )
        assignments = ", ".join(columns)
        sources = ", ".join(f"u.{column}" for column in columns)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS c SET ({assignments}) = ({sources}) "  # noqa: S608
                f"FROM {temporary} AS u WHERE c.id = u.id AND c.updated_at = u.seen"
            )
            if cursor.rowcount != len(contacts):
                raise ContactsChanged(f"{len(contacts) - cursor.rowcount} contacts changed")

    def links_copy(self, pairs: list[tuple[int, int]]) -> None:
        if pairs:
            self._copy(Contact.tags.through._meta.db_table, ["contact_id", "tag_id"], pairs)

    def links_insert(self, pairs: list[tuple[int, int]]) -> set[tuple[int, int]]:
        if not pairs:
            return set()
        through = Contact.tags.through._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {through} (contact_id, tag_id) "  # noqa: S608 - a model's table
                "SELECT * FROM unnest(%s::bigint[], %s::bigint[]) "
                "ON CONFLICT DO NOTHING RETURNING contact_id, tag_id",
                # Array literals as text: psycopg dumps a list element by element.
                [_array(pair[0] for pair in pairs), _array(pair[1] for pair in pairs)],
            )
            return set(cursor.fetchall())

    def contact_rows(self, contacts: list[Contact]) -> list:
        """COPY rows of new contacts, whose ids are reserved (``_ids_reserve``)."""
        for contact in contacts:
            contact._state.adding = False
        return [[contact.pk, *_contact_values(contact)] for contact in contacts]

    def activity_rows(self, rows: list[tuple]) -> list:
        # Changes hold dates too: written as text, as _jsonable writes them.
        return [(*row[:-1], json.dumps(row[-1], default=str)) for row in rows]

    def activities_insert(self, rows: list) -> int | None:
        """COPY; the highest id written (None for no rows): the sequence's last value in
        this session, the id of the last row copied."""
        if not rows:
            return None
        self._copy(Activity._meta.db_table, ACTIVITY_COLUMNS, rows)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT currval(pg_get_serial_sequence(%s, 'id'))", [Activity._meta.db_table]
            )
            return cursor.fetchone()[0]


# --- the chunk -----------------------------------------------------------------------------


def _writer():
    return _PostgresWriter() if connection.vendor == "postgresql" else _OrmWriter()


@dataclass(frozen=True)
class _Origin:
    """Where a chunk's rows come from: its workspace and what every activity records of it."""

    workspace_id: int
    data: dict[str, Any]


@dataclass
class PreparedChunk:
    """A chunk resolved against its contacts, its companies and tags in place, the ids of
    its new contacts reserved (on PostgreSQL) and their rows and activities encoded: what
    is left is writing it."""

    origin: "_Origin"
    targets: list[_Target]
    tag_ids: dict[str, int]
    now: Any
    result: ChunkResult
    new_rows: list  # the writer's rows of the new contacts
    new_activities: list | None  # the writer's rows of their activities, once ids are known

    def snapshot(self) -> list[tuple[Contact, Any]]:
        """Copies of the chunk's contacts as it writes them, with the updated_at each was
        read with: what the next chunk, prepared while this one is written, sees."""
        return [(_contact_copy(target.contact), target.seen) for target in self.targets]

    def notes(self) -> dict[int, list[str]]:
        """{contact id: notes} the chunk writes, for the next chunk (``notes_ahead``)."""
        return {target.contact.pk: target.notes for target in self.targets if target.notes}

    def reread(self, written: dict[int, Any]) -> None:
        """The previous chunk committed ``written`` ({contact id: updated_at}): contacts it
        wrote are expected at their new updated_at."""
        for target in self.targets:
            if not target.new and target.contact.pk in written:
                target.seen = written[target.contact.pk]


def _activity(
    origin: "_Origin", actor: Actor, now, target: _Target, payload: dict[str, Any]
) -> tuple:
    """A ``contact.imported`` activity, as a row of ACTIVITY_COLUMNS."""
    return (
        origin.workspace_id,
        target.contact.pk,
        ActivityKind.CONTACT_IMPORTED.value,
        now,
        actor.user_id,
        actor.api_key_id,
        actor.label[:200],
        {**origin.data, "row": target.rows[-1], **payload},
    )


def _notes_known(targets: list[_Target], ahead: dict[int, list[str]] | None = None) -> None:
    """Drop from existing contacts' notes those already on their timelines, or written by
    the previous chunk (``ahead``: not committed yet while a pipelined chunk is prepared)."""
    noted = [target for target in targets if target.notes and not target.new]
    if not noted:
        return
    for target in noted:
        written = (ahead or {}).get(target.contact.pk, [])
        target.notes = [note for note in target.notes if note not in written]
    known = set(
        Activity.objects.filter(
            contact_id__in=[target.contact.pk for target in noted],
            kind=ActivityKind.NOTE_ADDED,
            data__body__in=sorted({note for target in noted for note in target.notes}),
        ).values_list("contact_id", "data__body")
    )
    for target in noted:
        target.notes = [note for note in target.notes if (target.contact.pk, note) not in known]


def _note_activities(origin: "_Origin", actor: Actor, now, targets: list[_Target]) -> list[tuple]:
    return [
        (
            origin.workspace_id,
            target.contact.pk,
            ActivityKind.NOTE_ADDED.value,
            now,
            actor.user_id,
            actor.api_key_id,
            actor.label[:200],
            {**note_added_data(body=note), **origin.data},
        )
        for target in targets
        for note in target.notes
    ]


def _ids_reserve(contacts: list[Contact]) -> bool:
    """Give new contacts their ids from the table's sequence (PostgreSQL), so the next chunk
    can know them before this one is written; False where ids come with the insert."""
    if connection.vendor != "postgresql":
        return False
    if not contacts:
        return True
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [Contact._meta.db_table, len(contacts)],
        )
        ids = [row[0] for row in cursor.fetchall()]
    for contact, pk in zip(contacts, ids, strict=True):
        contact.pk = pk
    return True


def chunk_prepare(
    *,
    workspace: Workspace,
    options: dict[str, Any],
    rows: list[ImportRow],
    definitions: list[CustomField],
    actor: Actor,
    result: ChunkResult,
    lock: bool = True,
    overlay: list[tuple[Contact, Any]] | None = None,
    notes_ahead: dict[int, list[str]] | None = None,
    activity_data: dict[str, Any] | None = None,
) -> PreparedChunk:
    """Find the rows' contacts (locked, or read without locks and overlaid with the
    previous chunk's ``snapshot()``), resolve the rows, settle companies and tags (created
    in the current transaction, or committed at once outside one), reserve new ids and
    encode what is known of the write already (new contacts have no links yet: all their
    tags are added). ``options`` as an import's (``OPTION_KEYS`` there); ``activity_data``
    goes into every activity written (an import's ``{"import_job": id}``)."""
    origin = _Origin(workspace.pk, activity_data or {})
    now = timezone.now()
    found = _existing(workspace, rows, lock=lock)
    seen = None
    if overlay is not None:
        found, seen = _overlaid(rows, found, overlay)
    targets = _resolve(
        workspace=workspace,
        rows=rows,
        existing=found,
        options=options,
        definitions=definitions,
        now=now,
        result=result,
        seen=seen,
    )
    without_company = [
        target
        for target in targets
        if not target.new
        and not target.contact.company_id
        and (target.contact.email or target.company_name)
    ]
    _companies_for(
        workspace,
        [(target.contact, target.company_name) for target in targets if target.new]
        + [(target.contact, target.company_name) for target in without_company],
    )
    for target in without_company:
        if target.contact.company_id:
            target.changes["company_id"] = [None, target.contact.company_id]
    _notes_known(targets, notes_ahead)
    new = [target for target in targets if target.new]
    ids = _ids_reserve([target.contact for target in new])
    for target in new:
        target.contact.updated_at = now
        target.added_tags = target.tags
    writer = _writer()
    return PreparedChunk(
        origin=origin,
        targets=targets,
        tag_ids=_tag_ids(workspace, sorted({name for target in targets for name in target.tags})),
        now=now,
        result=result,
        new_rows=writer.contact_rows([target.contact for target in new]),
        # Without reserved ids (SQLite) the activities wait for the insert.
        new_activities=_new_activities(writer, origin, actor, now, new) if ids else None,
    )


def _new_activities(writer, origin: "_Origin", actor: Actor, now, new: list[_Target]) -> list:
    return writer.activity_rows(
        [
            _activity(origin, actor, now, target, {"created": True, "tags": target.tags})
            for target in new
        ]
        + _note_activities(origin, actor, now, new)
    )


def chunk_apply(*, prepared: PreparedChunk, actor: Actor) -> dict[int, Any]:
    """Write a prepared chunk; run it in a transaction. Raises ``ContactsChanged`` when a
    contact read without a lock changed meanwhile. Returns {contact id: updated_at} of the
    contacts written. The activities it appends are announced (``activities_announce``),
    delivered when the transaction commits."""
    origin, targets, tag_ids, now, result = (
        prepared.origin,
        prepared.targets,
        prepared.tag_ids,
        prepared.now,
        prepared.result,
    )
    writer = _writer()
    new = [target for target in targets if target.new]
    writer.contacts_insert(prepared.new_rows)
    # A new contact has no links yet: its own are written without a conflict check.
    writer.links_copy(
        [(target.contact.pk, tag_ids[name]) for target in new for name in target.tags]
    )
    existing = [target for target in targets if not target.new]
    added = writer.links_insert(
        [(target.contact.pk, tag_ids[name]) for target in existing for name in target.tags]
    )
    for target in existing:
        target.added_tags = [
            name for name in target.tags if (target.contact.pk, tag_ids[name]) in added
        ]
    updated = [target for target in existing if target.changes or target.added_tags or target.notes]
    for target in updated:
        target.contact.updated_at = now
    writer.contacts_update([(target.contact, target.seen) for target in updated])
    payload = {"created": False}
    if prepared.new_activities is None:
        prepared.new_activities = _new_activities(writer, origin, actor, now, new)
    highest = writer.activities_insert(
        prepared.new_activities
        + writer.activity_rows(
            [
                _activity(
                    origin,
                    actor,
                    now,
                    target,
                    payload | {"changes": target.changes, "tags": target.added_tags},
                )
                for target in updated
            ]
            + _note_activities(origin, actor, now, updated)
        )
    )
    written = [*new, *updated]
    _consents_append(origin, actor, now, targets)
    if highest is not None:
        activities_announce(
            workspace_id=origin.workspace_id,
            contact_ids=[target.contact.pk for target in written],
            up_to_id=highest,
        )
    result.created += len(new)
    result.updated += len(updated)
    result.skipped += len(targets) - len(new) - len(updated)
    return {target.contact.pk: now for target in written}


def _consents_append(origin: "_Origin", actor: Actor, now, targets: list[_Target]) -> None:
    """The chunk's consent rows, in one set-based call of the ledger's writer (the contacts
    are locked or were checked by the update); a new contact's is part of its import, an
    existing one's change writes ``consent.changed``."""
    entries = [
        (
            target.contact.pk,
            ConsentGiven(
                purpose=MARKETING_PURPOSE,
                status=status,
                source=ConsentSource.IMPORT,
                source_ref=_import_ref(origin.data),
                note=f"row {target.rows[-1]}",
            ),
        )
        for target in targets
        for status in target.consents
    ]
    consent_record_many(
        workspace=Workspace(pk=origin.workspace_id),
        entries=entries,
        actor=actor,
        lock=False,
        now=now,
        silent={target.contact.pk for target in targets if target.new},
    )


def _import_ref(data: dict[str, Any]) -> str:
    job = data.get("import_job")
    return f"import {job}" if job else "import"


def chunk_write(
    *,
    workspace: Workspace,
    options: dict[str, Any],
    rows: list[ImportRow],
    definitions: list[CustomField],
    actor: Actor,
    result: ChunkResult,
    activity_data: dict[str, Any] | None = None,
) -> None:
    """Upsert the chunk's clean rows with a handful of statements under locks (see the
    module's guarantees). Run it in a transaction; it adds its counts to ``result``. The
    rows' clean values are not changed, so a retry after a unique violation starts afresh."""
    prepared = chunk_prepare(
        workspace=workspace,
        options=options,
        rows=rows,
        definitions=definitions,
        actor=actor,
        result=result,
        activity_data=activity_data,
    )
    chunk_apply(prepared=prepared, actor=actor)
