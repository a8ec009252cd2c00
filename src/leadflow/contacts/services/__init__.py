"""Writes for contacts, companies, tags, notes, custom fields and duplicates.

Every service runs in one transaction and writes its activity row (and audit entry) in it.
``contact_upsert`` is the single way a contact comes into being, whatever the entry point.

One module per concern; this package re-exports their public names, so callers import
from ``leadflow.contacts.services`` whichever module a service lives in.
"""

from leadflow.contacts.services.activities import (
    activities_record_many,
    activity_record,
    actor_columns,
    changes_jsonable,
)
from leadflow.contacts.services.bulk import BULK_ACTIONS, contacts_bulk_action
from leadflow.contacts.services.companies import (
    company_create,
    company_delete,
    company_for_contact,
    company_input_clean,
    company_update,
)
from leadflow.contacts.services.consent import (
    ConsentGiven,
    consent_backfill,
    consent_given_clean,
    consent_purpose_create,
    consent_purpose_rename,
    consent_record,
    consent_record_many,
    consent_status_set,
    consent_summary_derive,
    consent_withdraw,
)
from leadflow.contacts.services.contacts import (
    DELETE_HOOKS,
    PLAIN_FIELDS,
    TOUCH_CHANNEL_HOOKS,
    UpsertResult,
    contact_delete,
    contact_for_write,
    contact_update,
    contact_upsert,
    contact_values_apply,
    contacts_before_delete,
)
from leadflow.contacts.services.custom_fields import (
    custom_field_create,
    custom_field_delete,
    custom_field_update,
)
from leadflow.contacts.services.leads import Arrival, LeadReceived, lead_receive
from leadflow.contacts.services.leads_fast import FastRows
from leadflow.contacts.services.lifecycle import (
    OUTCOME_OF_STAGE,
    contact_consent_set,
    contact_stage_promote,
    contacts_stage_advance,
)
from leadflow.contacts.services.merge import (
    MERGE_FIELDS,
    MERGE_HOOKS,
    contact_merge,
    contact_merge_defaults,
)
from leadflow.contacts.services.notes import note_add
from leadflow.contacts.services.saved_views import saved_view_delete, saved_view_save
from leadflow.contacts.services.scores import (
    SCORE_COLUMNS,
    contact_scores_write,
    contact_scores_write_each,
    contact_scores_write_from,
    contact_scores_write_select,
)
from leadflow.contacts.services.tags import tags_ensure

__all__ = [
    "BULK_ACTIONS",
    "DELETE_HOOKS",
    "DUPLICATES_PER_CONTACT",
    "MERGE_FIELDS",
    "MERGE_HOOKS",
    "OUTCOME_OF_STAGE",
    "PLAIN_FIELDS",
    "SCORE_COLUMNS",
    "TOUCH_CHANNEL_HOOKS",
    "Arrival",
    "ConsentGiven",
    "FastRows",
    "LeadReceived",
    "UpsertResult",
    "activities_record_many",
    "activity_record",
    "actor_columns",
    "changes_jsonable",
    "company_create",
    "company_delete",
    "company_for_contact",
    "company_input_clean",
    "company_update",
    "consent_backfill",
    "consent_given_clean",
    "consent_purpose_create",
    "consent_purpose_rename",
    "consent_record",
    "consent_record_many",
    "consent_status_set",
    "consent_summary_derive",
    "consent_withdraw",
    "contact_consent_set",
    "contact_delete",
    "contact_for_write",
    "contact_merge",
    "contact_merge_defaults",
    "contact_scores_write",
    "contact_scores_write_each",
    "contact_scores_write_from",
    "contact_scores_write_select",
    "contact_stage_promote",
    "contact_update",
    "contact_upsert",
    "contact_values_apply",
    "contacts_before_delete",
    "contacts_bulk_action",
    "contacts_stage_advance",
    "custom_field_create",
    "custom_field_delete",
    "custom_field_update",
    "lead_receive",
    "note_add",
    "saved_view_delete",
    "saved_view_save",
    "tags_ensure",
]
