"""Nurture's writes, one module per part, re-exported here."""

from leadflow.nurture.services.suppression import (
    ImportOutcome,
    SuppressionAdded,
    preferences_save,
    suppression_add,
    suppression_remove,
    suppressions_import,
    topic_create,
    topic_delete,
    topic_update,
    unsubscribe_one_click,
)

__all__ = [
    "ImportOutcome",
    "SuppressionAdded",
    "preferences_save",
    "suppression_add",
    "suppression_remove",
    "suppressions_import",
    "topic_create",
    "topic_delete",
    "topic_update",
    "unsubscribe_one_click",
]
