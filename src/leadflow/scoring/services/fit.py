"""Fit grades: the ideal customer profile's rules, A to F.

(Stub of the interface; filled in by the fit and lifecycle work.)"""

from collections.abc import Iterable


def fit_grades_write(*, workspace_id: int, contact_ids: Iterable[int] | None = None) -> None:
    """Grade these contacts (all when None) by the workspace's fit rules, set-based, and
    copy the grade onto ``Contact.fit_grade``."""


def fit_rules_default_install(workspace_id: int) -> None:
    """Create the default fit rules of a new workspace (docs/scoring.md), once."""
