"""Nurture's models, one module per part (segments, suppression, email, sending...)."""

from leadflow.nurture.models.suppression import (
    ContactPreferences,
    Frequency,
    Suppression,
    SuppressionReason,
    Topic,
    TopicOptOut,
    address_hash,
)

__all__ = [
    "ContactPreferences",
    "Frequency",
    "Suppression",
    "SuppressionReason",
    "Topic",
    "TopicOptOut",
    "address_hash",
]
