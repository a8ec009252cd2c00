"""Nurture's models, one module per part (segments, suppression, email, sending, pacing,
offers...)."""

from leadflow.nurture.models.offers import Offer, OfferCode, OfferKind
from leadflow.nurture.models.pacing import ContactPacing, MarketingSend, PacingSettings
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
    "ContactPacing",
    "ContactPreferences",
    "Frequency",
    "MarketingSend",
    "Offer",
    "OfferCode",
    "OfferKind",
    "PacingSettings",
    "Suppression",
    "SuppressionReason",
    "Topic",
    "TopicOptOut",
    "address_hash",
]
