"""Capture's rows in the PostgreSQL fast path of a new lead (decision 0010, amended by 0019).

``contacts.services.lead_receive`` writes a new lead known by email in one statement
(``contacts/services/leads_fast.py``: company, contact, duplicates, tags, activities).
A form adds its own rows to that statement as ``FastRows``: the submission and its consent
records, so a new lead from a form stays one round trip. When the fast path does not
apply, the general path writes the same rows with the ORM (``services._store`` and the
consent records in ``services._lead_write``); tests/capture/test_fastpath.py checks that
both paths store the same rows.
"""

import json
from typing import Any

from leadflow.contacts.services import FastRows

SUBMISSION_ROWS = """, submission AS (
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
)"""


class SubmissionStoredFirst(Exception):
    """Another request stored the same submission_id first: the caller replays its answer."""


def submission_rows(
    *, form_id: int, submission: dict[str, Any], consents: list[dict[str, str]]
) -> FastRows:
    """The submission (``submission``: its columns, JSON ones as text) and its consent
    records, written beside a new lead; the statement gives back the submission's id, or
    NULL when the same submission_id was stored first."""
    return FastRows(
        ctes=SUBMISSION_ROWS,
        params={"form": form_id, "consents": json.dumps(consents), **submission},
        result="(SELECT id FROM submission)",
    )
