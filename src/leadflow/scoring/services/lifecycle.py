"""Temperature, funnel section and the MQL rule.

(Stub of the interface; filled in by the fit and lifecycle work.)"""

from collections.abc import Iterable


def lifecycle_apply(*, workspace_id: int, contact_ids: Iterable[int] | None = None) -> None:
    """From the scores on the contact: its temperature (the profile's thresholds), its
    funnel section, and the MQL rule (leads that match become MQLs, recorded)."""
