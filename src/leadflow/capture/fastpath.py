"""The PostgreSQL fast path for the most common submission: a NEW lead known by email.

One SQL statement (data-modifying CTEs) writes what the ORM path would write for a new
contact: the company (found by registrable domain or name, or created), the contact, its
possible duplicates (the rules of ``contacts.services.duplicates_find_for``), its tags,
the `contact.created` and `form.submitted` activities, the submission and its consent
records. It returns nothing (and writes nothing but possibly the company, which the
ORM path would create as well) when the email is known already, when the workspace has
required custom fields, or when a concurrent request inserted the same email first: the
caller then takes the ORM path (``contacts.services.contact_upsert``), which handles every
case. tests/capture/test_fastpath.py checks that both paths store the same rows.

Why: the ORM path costs about twenty round trips and their Python; at the public endpoint,
under load, that is the difference between ~150 and several hundred leads per second on
two cores (bench/bench_capture.py).
"""

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from leadflow.capture.models import Form
from leadflow.contacts.identity import company_name_from_domain, is_free_mail, registrable_domain
from leadflow.contacts.models import ActivityKind, ConsentStatus, LifecycleStage, Temperature
from leadflow.core.validation import email_domain

PLAIN = ("phone", "first_name", "last_name", "job_title", "country")

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
         owner_id, lifecycle_stage, temperature, consent_status,
         first_touch_source, first_touch_medium, first_touch_campaign, first_touch_channel,
         last_touch_source, last_touch_medium, last_touch_campaign, last_touch_channel,
         custom_fields, created_at, updated_at)
    SELECT %(ws)s, %(email)s, %(phone)s, %(first_name)s, %(last_name)s, %(job_title)s,
           (SELECT id FROM company), %(country)s, %(owner)s, %(stage)s, %(temperature)s,
           %(consent)s, %(source)s, %(medium)s, %(campaign)s, %(channel)s, %(source)s,
           %(medium)s, %(campaign)s, %(channel)s, '{}'::jsonb, %(now)s, %(now)s
    WHERE (SELECT ok FROM gate)
    ON CONFLICT (workspace_id, email) WHERE email IS NOT NULL DO NOTHING
    RETURNING id, company_id
), duplicates AS (
    INSERT INTO contacts_duplicatecandidate
        (workspace_id, contact_id, other_id, reason, status, created_at)
    SELECT %(ws)s, LEAST(found.id, contact.id), GREATEST(found.id, contact.id), found.reason,
           'open', %(now)s
    FROM contact, LATERAL (
        (SELECT other.id, 'same name and company' AS reason FROM contacts_contact AS other
         WHERE other.workspace_id = %(ws)s AND other.company_id = contact.company_id
           AND %(first_name)s <> '' AND %(last_name)s <> ''
           AND upper(other.first_name::text) = upper(%(first_name)s)
           AND upper(other.last_name::text) = upper(%(last_name)s)
         LIMIT 20)
        UNION ALL
        (SELECT other.id, 'same phone, different email' FROM contacts_contact AS other
         WHERE other.workspace_id = %(ws)s AND other.phone = %(phone)s::text
         LIMIT 20)
    ) AS found
    ON CONFLICT DO NOTHING
    RETURNING id
), tags AS (
    INSERT INTO contacts_contact_tags (contact_id, tag_id)
    SELECT contact.id, tag.id FROM contact, contacts_tag AS tag
    WHERE tag.workspace_id = %(ws)s AND tag.name = ANY(%(tags)s::text[])
    ON CONFLICT DO NOTHING
    RETURNING tag_id
), activities AS (
    INSERT INTO contacts_activity
        (workspace_id, contact_id, kind, occurred_at, actor_user_id, actor_api_key_id,
         actor_label, data)
    SELECT %(ws)s, contact.id, entry.kind, %(now)s, NULL, NULL, %(actor)s, entry.data::jsonb
    FROM contact, (VALUES (%(created_kind)s, %(created_data)s),
                          (%(submitted_kind)s, %(submitted_data)s)) AS entry(kind, data)
    RETURNING id
), submission AS (
    INSERT INTO capture_submission
        (workspace_id, form_id, submission_id, status, spam_reason, contact_id, payload,
         "values", ip, user_agent, page_url, referrer, utm, visitor_id, response, created_at)
    SELECT %(ws)s, %(form)s, %(submission_id)s, 'accepted', '', contact.id, %(payload)s::jsonb,
           %(values)s::jsonb, %(ip)s, %(user_agent)s, %(page_url)s, %(referrer)s,
           %(utm)s::jsonb, %(visitor_id)s, %(response)s::jsonb, %(now)s
    FROM contact
    ON CONFLICT (form_id, submission_id) DO NOTHING
    RETURNING id
), consents AS (
    INSERT INTO capture_consentrecord
        (workspace_id, contact_id, form_id, submission_id, field_name, text, version,
         granted_at, ip, page_url, confirmed_at)
    SELECT %(ws)s, contact.id, %(form)s, submission.id, entry.field_name, entry.text,
           entry.version, %(now)s, %(ip)s, %(page_url)s, NULL
    FROM contact, submission,
         jsonb_to_recordset(%(consents)s::jsonb)
             AS entry(field_name text, text text, version text)
    RETURNING id
)
SELECT (SELECT id FROM contact), (SELECT company_id FROM contact), (SELECT id FROM submission),
       (SELECT count(*) FROM tags), (SELECT count(*) FROM activities),
       (SELECT count(*) FROM consents)
"""


class SubmissionStoredFirst(Exception):
    """Another request stored the same submission_id first: the caller replays its answer."""


@dataclass
class FastResult:
    contact_id: int
    submission_pk: int


def eligible(contact: dict[str, Any]) -> bool:
    """Only a contact known by email, with nothing the ORM path must check in Python."""
    return (
        settings.LEADFLOW_CAPTURE_FAST_PATH
        and connection.vendor == "postgresql"
        and bool(contact.get("email"))
        and not contact.get("custom_fields")
        and "owner_id" not in contact
        and "company_id" not in contact
    )


def new_lead_insert(
    *,
    form: Form,
    contact: dict[str, Any],
    submission: dict[str, Any],
    submitted: dict,
    consents: list[dict],
    actor_label: str,
) -> FastResult | None:
    """Write a new lead in one statement; None when the ORM path must take over."""
    domain = email_domain(contact["email"])
    domain = registrable_domain(domain) if domain and not is_free_mail(domain) else None
    company_name = contact.get("company") or (company_name_from_domain(domain) if domain else "")
    tags = list(form.tags or [])
    now = timezone.now()
    params = {
        "ws": form.workspace_id,
        "form": form.pk,
        "now": now,
        "domain": domain,
        "company_name": company_name[:200],
        "email": contact["email"],
        **{name: contact.get(name) or ("" if name != "phone" else None) for name in PLAIN},
        "owner": contact.get("owner_id"),
        "stage": contact.get("lifecycle_stage") or LifecycleStage.LEAD,
        "temperature": Temperature.COLD,
        "consent": contact.get("consent_status") or ConsentStatus.UNKNOWN,
        "source": contact.get("source", ""),
        "medium": contact.get("medium", ""),
        "campaign": contact.get("campaign", ""),
        "channel": contact.get("channel", ""),
        "tags": tags,
        "actor": actor_label,
        "created_kind": ActivityKind.CONTACT_CREATED.value,
        "created_data": json.dumps({"tags": tags} if tags else {}),
        "submitted_kind": ActivityKind.FORM_SUBMITTED.value,
        "submitted_data": json.dumps(submitted),
        "consents": json.dumps(consents),
        **submission,
    }
    with connection.cursor() as cursor:
        cursor.execute(SQL, params)
        contact_id, company_id, submission_pk, _, _, _ = cursor.fetchone()
        if contact_id is None:
            return None
        if submission_pk is None:
            raise SubmissionStoredFirst  # the same submission_id was stored first: replay it
        if company_id is None and (domain or company_name):
            # A concurrent request created the same company between our look-up and insert.
            cursor.execute(
                "UPDATE contacts_contact SET company_id = (SELECT id FROM contacts_company "
                "WHERE workspace_id = %s AND (domain = %s OR (%s::text IS NULL AND "
                "upper(name::text) = upper(%s))) ORDER BY id LIMIT 1) WHERE id = %s",
                [form.workspace_id, domain, domain, company_name, contact_id],
            )
    return FastResult(contact_id=contact_id, submission_pk=submission_pk)
