"""The settings page's preview: "with these rules, N contacts would be hot / MQL today".

The unsaved edit (a new rule, a changed or deleted one, other thresholds or half-life) is
applied in a transaction, the ledger is rebuilt and every contact scored exactly as the
real recompute would (the edited rule's points only, as it would), the hot and MQL
contacts are counted, and the transaction is rolled back: nothing is kept, nothing is
scheduled, nothing is audited. A workspace of more than ``SAMPLE_SIZE`` contacts is
previewed on a random sample of that many (every rule rebuilt for them), the counts scaled
up, and the page says so.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from leadflow.contacts.conditions import ConditionContext, conditions_compile, tree_from_json
from leadflow.contacts.models import Contact, LifecycleStage
from leadflow.core.errors import NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.scoring.models import EngagementRule, ScoringProfile
from leadflow.scoring.services.engagement import engagement_rule_clean, engagement_scores_write
from leadflow.scoring.services.ledger import engagement_rebuild
from leadflow.scoring.services.profile import profile_get

# Stages the MQL rule promotes from (contacts further on are past it).
MQL_FROM = (LifecycleStage.SUBSCRIBER, LifecycleStage.LEAD)


# Above this many contacts the preview scores a random sample of this size and scales the
# counts up: a few seconds at any size, instead of rewriting a million rows in a request
# (and holding their locks meanwhile).
SAMPLE_SIZE = 20_000


@dataclass(frozen=True)
class Preview:
    contacts: int
    hot: int
    warm: int
    mql: int | None  # None: the workspace has no MQL rule
    sampled: int | None = None  # estimated from this many contacts (None: all counted)


class _Discard(Exception):
    def __init__(self, preview: Preview):
        self.preview = preview


def engagement_preview(
    *,
    workspace: Workspace,
    rule_id: int | None = None,
    values: Mapping[str, Any] | None = None,
    delete: bool = False,
    profile_values: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> Preview:
    """What the workspace would look like today with an edit applied: ``values`` for a new
    rule (``rule_id`` None) or a change of rule ``rule_id``, or ``delete`` it; and
    ``profile_values`` (half_life_days, warm_threshold, hot_threshold, already checked by
    the caller). Bad rule values raise ``ValidationFailed`` as saving them would."""
    now = now or timezone.now()
    profile_get(workspace)  # the defaults exist before anything is tried
    everyone = Contact.objects.filter(workspace=workspace)
    total = everyone.count()
    sample = _sample(workspace) if total > SAMPLE_SIZE else None
    try:
        with transaction.atomic():
            _apply(workspace, rule_id, values, delete, profile_values)
            profile = ScoringProfile.objects.get(workspace=workspace)
            if sample is None:
                # Only the edited rule's points are rebuilt (all of them when the ledger was
                # never built whole); a change of half-life or thresholds rebuilds none.
                engagement_rebuild(workspace_id=workspace.pk, now=now, changed_only=True)
                engagement_scores_write(workspace_id=workspace.pk, now=now)
                contacts = everyone
            else:  # the sample's points and scores, exactly as for everyone
                engagement_rebuild(workspace_id=workspace.pk, contact_ids=sample, now=now)
                engagement_scores_write(workspace_id=workspace.pk, now=now, contact_ids=sample)
                contacts = everyone.filter(pk__in=sample)
            hot = contacts.filter(engagement_score__gte=profile.hot_threshold).count()
            warm = contacts.filter(
                engagement_score__gte=profile.warm_threshold,
                engagement_score__lt=profile.hot_threshold,
            ).count()
            mql = _mql_count(workspace, profile, now, contacts)
            scale = 1.0 if sample is None else total / len(sample)
            raise _Discard(
                Preview(
                    contacts=total,
                    hot=round(hot * scale),
                    warm=round(warm * scale),
                    mql=None if mql is None else round(mql * scale),
                    sampled=None if sample is None else len(sample),
                )
            )
    except _Discard as discarded:
        return discarded.preview


def _sample(workspace: Workspace) -> list[int]:
    """SAMPLE_SIZE of the workspace's contacts, at random, in id order."""
    ids = Contact.objects.filter(workspace=workspace).order_by("?")[:SAMPLE_SIZE]
    return sorted(ids.values_list("pk", flat=True))


def _apply(workspace, rule_id, values, delete, profile_values) -> None:
    if profile_values:
        ScoringProfile.objects.filter(workspace=workspace).update(**dict(profile_values))
    if rule_id is None:
        if values is not None:
            EngagementRule.objects.create(workspace=workspace, **engagement_rule_clean(values))
        return
    rule = EngagementRule.objects.filter(workspace=workspace, pk=rule_id).first()
    if rule is None:
        raise NotFound("No such engagement rule.")
    if delete:
        rule.delete()
        return
    for name, value in engagement_rule_clean(values or {}, current=rule).items():
        setattr(rule, name, value)
    rule.save()


def _mql_count(
    workspace: Workspace, profile: ScoringProfile, now: dt.datetime, contacts
) -> int | None:
    """Leads and subscribers the profile's MQL rule matches (None when there is none, or
    when it names a field this installation does not know)."""
    if not profile.mql_conditions:
        return None
    try:
        tree = tree_from_json(profile.mql_conditions, "mql_conditions")
        where = conditions_compile(
            tree, ConditionContext(workspace=workspace, now=now), "mql_conditions"
        )
    except ValidationFailed:
        return None
    return contacts.filter(lifecycle_stage__in=MQL_FROM).filter(where).count()
