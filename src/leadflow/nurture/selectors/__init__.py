"""Nurture's reads, one module per part, re-exported here."""

from leadflow.nurture.selectors.suppression import (
    Preferences,
    contact_suppression,
    link_contact,
    link_workspace,
    marketing_preferences,
    suppression_by_address,
    suppression_counts,
    suppression_get,
    suppression_list,
    suppression_reason,
    suppression_reasons,
    topic_get,
    topics_list,
)

__all__ = [
    "Preferences",
    "contact_suppression",
    "link_contact",
    "link_workspace",
    "marketing_preferences",
    "suppression_by_address",
    "suppression_counts",
    "suppression_get",
    "suppression_list",
    "suppression_reason",
    "suppression_reasons",
    "topic_get",
    "topics_list",
]
