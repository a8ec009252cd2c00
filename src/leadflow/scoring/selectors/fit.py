"""Fit reads: the ideal customer profile's rules, and which of them a contact matches.

(Interface; filled in by the fit and lifecycle work.)"""

from django.db.models import QuerySet

from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace
from leadflow.scoring.models import FitRule


def fit_rules(workspace: Workspace) -> QuerySet[FitRule]:
    return FitRule.objects.filter(workspace=workspace).order_by("position", "id")


def fit_matches(workspace: Workspace, contact: Contact) -> list[FitRule]:
    """The enabled fit rules this contact matches, in order."""
    return []
