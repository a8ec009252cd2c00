"""Nurture's models, one module per part (segments, suppression, email, sending, pacing...)."""

from leadflow.nurture.models.offers import Offer, OfferCode, OfferKind
from leadflow.nurture.models.pacing import ContactPacing, MarketingSend, PacingSettings

__all__ = [
    "ContactPacing",
    "MarketingSend",
    "Offer",
    "OfferCode",
    "OfferKind",
    "PacingSettings",
]
