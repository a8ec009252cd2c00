"""The workspace's scoring profile: read (created on first use) and changed."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from leadflow.core.actors import Actor
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record
from leadflow.scoring.models import ScoringProfile
from leadflow.scoring.services.engagement import engagement_rules_default_install
from leadflow.scoring.services.fit import fit_rules_default_install

PROFILE_FIELDS = (
    "half_life_days",
    "warm_threshold",
    "hot_threshold",
    "base_grade",
    "mql_conditions",
    "key_pages",
    "outcome_horizon_days",
)


def profile_get(workspace: Workspace) -> ScoringProfile:
    """The workspace's profile, created on first use with the default engagement and fit
    rules (race-safe: the one transaction that marks ``defaults_installed_at`` installs
    them)."""
    profile, _ = ScoringProfile.objects.get_or_create(workspace=workspace)
    if profile.defaults_installed_at is None:
        with transaction.atomic():
            marked = ScoringProfile.objects.filter(
                pk=profile.pk, defaults_installed_at__isnull=True
            ).update(defaults_installed_at=timezone.now())
            if marked:
                engagement_rules_default_install(workspace.pk)
                fit_rules_default_install(workspace.pk)
        profile.refresh_from_db()
    return profile


def profile_update(*, workspace: Workspace, actor: Actor, values: dict[str, Any]) -> ScoringProfile:
    """Change the profile's fields given in ``values`` (already cleaned by the caller's
    input checks) and record who did it in the audit log."""
    unknown = set(values) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"Not a profile field: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        profile = profile_get(workspace)
        profile = ScoringProfile.objects.select_for_update().get(pk=profile.pk)
        changes = {
            name: [getattr(profile, name), value]
            for name, value in values.items()
            if getattr(profile, name) != value
        }
        if not changes:
            return profile
        for name, value in values.items():
            setattr(profile, name, value)
        profile.updated_at = timezone.now()
        profile.save()
        audit_record(
            workspace=workspace,
            actor=actor,
            action="scoring.profile_updated",
            changes={name: [str(before), str(after)] for name, (before, after) in changes.items()},
        )
    return profile
