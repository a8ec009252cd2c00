"""Nurture's models, one module per part (segments, suppression, email, sending, pacing...)."""

from leadflow.nurture.models.pacing import ContactPacing, MarketingSend, PacingSettings

__all__ = ["ContactPacing", "MarketingSend", "PacingSettings"]
