"""The fields scoring adds to contacts' condition language: engagement score, fit grade,
conversion probability, funnel section (temperature is contacts' own).

(Stub; filled in by the fit and lifecycle work.)"""


def register() -> None:
    """Register scoring's condition fields (from ScoringConfig.ready)."""
