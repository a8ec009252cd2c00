"""The PostgreSQL fast path of ``lead_receive``: a NEW lead known by email, in one statement.

One SQL statement (data-modifying CTEs) writes what the ORM path (``contact_upsert``)
would write for a new contact: the company (found by registrable domain or name, or
created), the contact, its tags (created when missing), and the
``contact.created`` and arrival activities, whose payloads come from the typed writers
(``contacts.kind_writers``), the arrival's consent ledger rows (and the contact's
``consent_status`` they derive, as ``consent_record_many`` would), and the rows the
arriving app adds to the statement (``FastRows``: capture's submission and consent
records, so a new lead from a form is still one round trip). It returns None (and writes
nothing but possibly the company and tags, which the ORM path would create as well) when
the email is known already, when the workspace has required custom fields, or when a
concurrent request inserted the same email first: ``lead_receive`` then takes the ORM
path, which handles every case.
tests/capture/test_fastpath.py checks that both paths store the same rows.

Why: the ORM path costs about twenty round trips and their Python; at the public endpoint,
under load, that is the difference between ~150 and several hundred leads per second on
two cores (bench/bench_capture.py, decision 0010).
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from leadflow.contacts.activity_log import activities_announce
from leadflow.contacts.identity import company_name_from_domain, is_free_mail, registrable_domain
from leadflow.contacts.kind_writers import contact_created_data
from leadflow.contacts.models import (
    ADDRESS_FIELDS,
    MARKETING_PURPOSE,
    ActivityKind,
    ConsentStatus,
    LifecycleStage,
    Temperature,
)
from leadflow.contacts.services.consent import ConsentGiven
from leadflow.core.validation import email_domain

PLAIN = (
    "phone",
    "first_name",
    "last_name",
    "job_title",
    "country",
    *ADDRESS_FIELDS,
)
# The clean contact values the statement writes; any other value takes the ORM path.
FAST_VALUES = frozenset(
    {*PLAIN, "email", "company", "source", "medium", "campaign", "channel", "tags"}
)

SQL = """
WITH gate AS (
    SELECT NOT EXISTS (
        SELECT 1 FROM contacts_customfield WHERE workspace_id = %(ws)s AND required
    ) AS ok
), company_found AS (
    SELECT id FROM contacts_company
    WHERE workspace_id = %(ws)s AND (
        (%(domain)s::text IS NOT NULL AND domain = %(domain)s::text)
        OR (%(domain)s::text IS NULL AND upper(name::text) = upper(%(company_name)s::text))
    )
    ORDER BY id LIMIT 1
), company_new AS (
    INSERT INTO contacts_company
        (workspace_id, name, domain, size, industry, country, created_at, updated_at)
    SELECT %(ws)s, %(company_name)s, %(domain)s, '', '', '', %(now)s, %(now)s
    WHERE (SELECT ok FROM gate)
      AND (%(domain)s::text IS NOT NULL OR %(company_name)s::text <> '')
      AND NOT EXISTS (SELECT 1 FROM company_found)
    ON CONFLICT DO NOTHING
    RETURNING id
), company AS (
    SELECT id FROM company_found UNION ALL SELECT id FROM company_new LIMIT 1
), contact AS (
    INSERT INTO contacts_contact
        (workspace_id, email, phone, first_name, last_name, job_title, company_id, country,
         street_address, city, region, postal_code, owner_id, lifecycle_stage, temperature,
         consent_status,
         first_touch_source, first_touch_medium, first_touch_campaign, first_touch_channel,
         last_touch_source, last_touch_medium, last_touch_campaign, last_touch_channel,
         custom_fields, created_at, updated_at, stage_changed_at, outcome, outcome_at)
    SELECT %(ws)s, %(email)s, %(phone)s, %(first_name)s, %(last_name)s, %(job_title)s,
           (SELECT id FROM company), %(country)s, %(street_address)s, %(city)s, %(region)s,
           %(postal_code)s, %(owner)s, %(stage)s, %(temperature)s,
           %(consent)s, %(source)s, %(medium)s, %(campaign)s, %(channel)s, %(source)s,
           %(medium)s, %(campaign)s, %(channel)s, '{}'::jsonb, %(now)s, %(now)s, %(now)s,
           CASE %(stage)s::text WHEN 'customer' THEN 'won'
                                WHEN 'disqualified' THEN 'lost' ELSE '' END,
           CASE WHEN %(stage)s::text IN ('customer', 'disqualified') THEN %(now)s END
    WHERE (SELECT ok FROM gate)
    ON CONFLICT (workspace_id, email) WHERE email IS NOT NULL DO NOTHING
    RETURNING id, company_id
), tag_new AS (
    INSERT INTO contacts_tag (workspace_id, name)
    SELECT %(ws)s, wanted.name FROM unnest(%(tags)s::text[]) AS wanted(name)
    WHERE (SELECT ok FROM gate) AND NOT EXISTS (
        SELECT 1 FROM contacts_tag WHERE workspace_id = %(ws)s AND name = wanted.name
    )
    ON CONFLICT DO NOTHING
    RETURNING id
), tags AS (
    INSERT INTO contacts_contact_tags (contact_id, tag_id)
    SELECT contact.id, tag.id FROM contact, (
        SELECT id FROM contacts_tag WHERE workspace_id = %(ws)s AND name = ANY(%(tags)s::text[])
        UNION ALL SELECT id FROM tag_new
    ) AS tag
    ON CONFLICT DO NOTHING
    RETURNING tag_id
), activities AS (
    INSERT INTO contacts_activity
        (workspace_id, contact_id, kind, occurred_at, actor_user_id, actor_api_key_id,
         actor_label, data)
    SELECT %(ws)s, contact.id, entry.kind, %(now)s, NULL, NULL, %(actor)s, entry.data::jsonb
    FROM contact, (VALUES (%(created_kind)s, %(created_data)s),
                          (%(arrival_kind)s, %(arrival_data)s)) AS entry(kind, data)
    RETURNING id
), ledger AS (
    INSERT INTO contacts_consententry
        (workspace_id, contact_id, purpose, status, text, version, source, source_ref, note,
         recorded_at, ip, actor_user_id, actor_label)
    SELECT %(ws)s, contact.id, entry.purpose, entry.status, entry.text, entry.version,
           entry.source, entry.source_ref, entry.note, %(now)s, entry.ip::inet, NULL, %(actor)s
    FROM contact, jsonb_to_recordset(%(ledger)s::jsonb) AS entry(
        purpose text, status text, text text, version text, source text, source_ref text,
        note text, ip text)
    RETURNING id
)"""
RESULT = """
SELECT (SELECT id FROM contact), (SELECT company_id FROM contact),
       (SELECT count(*) FROM tags), (SELECT max(id) FROM activities),
       {rows_result}
"""


@dataclass(frozen=True)
class FastRows:
    """Rows the arriving app writes in the fast path's one statement, beside the contact
    (capture's submission and consent records): more CTEs, each ``, name AS (INSERT ...
    FROM contact ... RETURNING ...)``, that may read the new ``contact`` (``contact.id``)
    and the statement's ``%(ws)s`` and ``%(now)s``; their own parameters (names of their
    own); and one SQL expression whose value ``lead_receive`` hands back
    (``LeadReceived.rows_result``), such as the id of the row written. Contacts knows
    nothing of those tables: the app that owns them writes the SQL."""

    ctes: str
    params: dict[str, Any]
    result: str


@dataclass(frozen=True)
class FastLead:
    contact_id: int
    rows_result: Any = None


def fast_path_applies(contact: Mapping[str, Any]) -> bool:
    """Only a lead known by email, with nothing the ORM path must check in Python: no
    custom fields, owner, company id or stage of its own, and a channel whenever a source
    or medium is given (the ORM path asks tracking's channel rules otherwise)."""
    return (
        settings.LEADFLOW_CAPTURE_FAST_PATH
        and connection.vendor == "postgresql"
        and bool(contact.get("email"))
        and set(contact) <= FAST_VALUES
        and not ((contact.get("source") or contact.get("medium")) and not contact.get("channel"))
    )


def lead_insert_fast(
    *,
    workspace_id: int,
    clean: dict[str, Any],
    stage: str,
    consents: Sequence[ConsentGiven],
    owner_id: int | None,
    arrival_kind: str,
    arrival_data: dict[str, Any],
    actor_label: str,
    rows: FastRows | None = None,
) -> FastLead | None:
    """Write a new lead (and the caller's ``rows``) in one statement; None when the ORM
    path must take over (nothing of the contact written). Announces the two activities
    it appended (``activities_announce``), as every write path does."""
    domain = email_domain(clean["email"])
    domain = registrable_domain(domain) if domain and not is_free_mail(domain) else None
    company_name = clean.get("company") or (company_name_from_domain(domain) if domain else "")
    tags = list(dict.fromkeys(clean.get("tags") or []))
    now = timezone.now()
    params = {
        "ws": workspace_id,
        "now": now,
        "domain": domain,
        "company_name": company_name[:200],
        "email": clean["email"],
        **{name: clean.get(name) or ("" if name != "phone" else None) for name in PLAIN},
        "owner": owner_id,
        "stage": stage or LifecycleStage.LEAD,
        "temperature": Temperature.COLD,
        # The summary the ledger rows below derive (a new contact has no earlier row).
        "consent": next(
            (c.status for c in reversed(consents) if c.purpose == MARKETING_PURPOSE),
            ConsentStatus.UNKNOWN.value,
        ),
        "ledger": json.dumps(
            [
                {
                    "purpose": c.purpose,
                    "status": c.status,
                    "text": c.text,
                    "version": c.version[:64],
                    "source": c.source,
                    "source_ref": c.source_ref[:200],
                    "note": c.note[:500],
                    "ip": c.ip or None,
                }
                for c in consents
            ]
        ),
        "source": clean.get("source", ""),
        "medium": clean.get("medium", ""),
        "campaign": clean.get("campaign", ""),
        "channel": clean.get("channel", ""),
        "tags": tags,
        "actor": actor_label[:200],
        "created_kind": ActivityKind.CONTACT_CREATED.value,
        "created_data": json.dumps(contact_created_data(tags=tags)),
        "arrival_kind": arrival_kind,
        "arrival_data": json.dumps(arrival_data),
    }
    sql = SQL + RESULT.format(rows_result="NULL")
    if rows is not None:
        assert not set(rows.params) & set(params), "FastRows parameters need names of their own"
        sql = SQL + rows.ctes + RESULT.format(rows_result=rows.result)
        params.update(rows.params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        contact_id, company_id, _, up_to_id, rows_result = cursor.fetchone()
        if contact_id is None:
            return None
        if company_id is None and (domain or company_name):
            # A concurrent request created the same company between our look-up and insert.
            cursor.execute(
                "UPDATE contacts_contact SET company_id = (SELECT id FROM contacts_company "
                "WHERE workspace_id = %s AND (domain = %s OR (%s::text IS NULL AND "
                "upper(name::text) = upper(%s))) ORDER BY id LIMIT 1) WHERE id = %s",
                [workspace_id, domain, domain, company_name, contact_id],
            )
    activities_announce(workspace_id=workspace_id, contact_ids=[contact_id], up_to_id=up_to_id)
    return FastLead(contact_id, rows_result)
