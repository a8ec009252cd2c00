"""Temperature, funnel section and the MQL rule; and sales' hand-off of MQLs (accept or
reject). docs/scoring/fit-lifecycle.md has the tables; docs/lifecycle.md the stages.

- Temperature from the engagement score on the contact: hot at or above the profile's
  ``hot_threshold``, warm at or above ``warm_threshold``, cold below.
- Funnel section from the stage and the temperature (``FUNNEL_TABLE``).
- The MQL rule: a subscriber or lead matching ``profile.mql_conditions`` becomes an MQL,
  recorded as ``stage.changed`` with the rule as the reason and actor.
Everything is set-based: one UPDATE per column family (per 5,000 ids when ids are given),
the stage moves through ``contacts.services.contacts_stage_advance``.
"""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Case, CharField, Q, Value, When

from leadflow.contacts.conditions import (
    ConditionContext,
    conditions_compile,
    tree_from_json,
)
from leadflow.contacts.models import (
    Contact,
    FunnelSection,
    LifecycleStage,
    Temperature,
)
from leadflow.contacts.services import (
    contact_for_write,
    contact_scores_write,
    contacts_stage_advance,
)
from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, FieldError, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record
from leadflow.scoring.models import ScoringProfile

MQL_RULE_ACTOR = "MQL rule"
MQL_RULE_REASON = "Matched the MQL rule"
# Stages the MQL rule may move from: it never moves a contact back, nor out of a parked stage.
MQL_FROM_STAGES = (LifecycleStage.SUBSCRIBER, LifecycleStage.LEAD)

S, T = LifecycleStage, Temperature
TOP, MIDDLE, BOTTOM = FunnelSection.TOP, FunnelSection.MIDDLE, FunnelSection.BOTTOM
# (stage) -> (section when cold, when warm, when hot); "" is no section.
FUNNEL_TABLE: dict[str, tuple[str, str, str]] = {
    S.SUBSCRIBER: (TOP, TOP, MIDDLE),
    S.LEAD: (TOP, TOP, MIDDLE),
    S.NURTURE: (TOP, TOP, MIDDLE),
    S.MQL: (MIDDLE, MIDDLE, BOTTOM),
    S.SQL: (BOTTOM, BOTTOM, BOTTOM),
    S.OPPORTUNITY: (BOTTOM, BOTTOM, BOTTOM),
    S.CUSTOMER: ("", "", ""),
    S.DISQUALIFIED: ("", "", ""),
}
TEMPERATURES = (T.COLD, T.WARM, T.HOT)


def funnel_section_of(stage: str, temperature: str) -> str:
    """The table's answer for one contact (what the UPDATE computes for every row)."""
    sections = FUNNEL_TABLE.get(stage, ("", "", ""))
    return sections[TEMPERATURES.index(temperature)] if temperature in TEMPERATURES else ""


def temperature_of(score: float, warm: float, hot: float) -> str:
    return T.HOT if score >= hot else T.WARM if score >= warm else T.COLD


def _temperature_expression(profile: ScoringProfile | None):
    warm = profile.warm_threshold if profile else ScoringProfile().warm_threshold
    hot = profile.hot_threshold if profile else ScoringProfile().hot_threshold
    return Case(
        When(engagement_score__gte=hot, then=Value(T.HOT)),
        When(engagement_score__gte=warm, then=Value(T.WARM)),
        default=Value(T.COLD),
        output_field=CharField(),
    )


def _funnel_expression():
    whens = []
    for stage, sections in FUNNEL_TABLE.items():
        for temperature, section in zip(TEMPERATURES, sections, strict=True):
            whens.append(When(lifecycle_stage=stage, temperature=temperature, then=Value(section)))
    return Case(*whens, default=Value(""), output_field=CharField())


def mql_condition(workspace: Workspace, profile: ScoringProfile | None) -> Q | None:
    """The MQL rule's ``Q``, or None when it is off ({}) or no longer compiles."""
    tree = profile.mql_conditions if profile else {}
    if not tree:
        return None
    try:
        return conditions_compile(tree_from_json(tree), ConditionContext(workspace=workspace))
    except ValidationFailed:
        return None


def lifecycle_apply(*, workspace_id: int, contact_ids: Iterable[int] | None = None) -> None:
    """From the scores on the contact: its temperature (the profile's thresholds), its
    funnel section, and the MQL rule (leads that match become MQLs, recorded). The pipeline
    writes temperature and section with the other scores (``services.refresh``) and then
    runs only ``mql_rule_apply``."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return
    ids = None if contact_ids is None else sorted(set(contact_ids))
    profile = ScoringProfile.objects.filter(workspace_id=workspace_id).first()
    with transaction.atomic():
        contact_scores_write(
            workspace_id=workspace_id,
            values={"temperature": _temperature_expression(profile)},
            contact_ids=ids,
        )
        mql_rule_apply(workspace=workspace, profile=profile, contact_ids=ids, sections=False)
        # After the MQL moves, so the section follows the stage they now have.
        contact_scores_write(
            workspace_id=workspace_id,
            values={"funnel_section": _funnel_expression()},
            contact_ids=ids,
        )


def mql_rule_apply(
    *,
    workspace: Workspace,
    profile: ScoringProfile | None,
    contact_ids: Iterable[int] | None = None,
    sections: bool = True,
) -> list[int]:
    """The MQL rule over these contacts (all when None): subscribers and leads that match
    become MQLs, each move recorded with the rule as actor and reason; with ``sections``
    the moved contacts' funnel section follows their new stage. Returns the moved ids."""
    condition = mql_condition(workspace, profile)
    if condition is None:
        return []
    moved = contacts_stage_advance(
        workspace=workspace,
        stage=LifecycleStage.MQL,
        from_stages=MQL_FROM_STAGES,
        actor=Actor.system(MQL_RULE_ACTOR),
        reason=MQL_RULE_REASON,
        contact_ids=contact_ids,
        where=condition,
    )
    if moved and sections:
        contact_scores_write(
            workspace_id=workspace.pk,
            values={"funnel_section": _funnel_expression()},
            contact_ids=moved,
        )
    return moved


def temperature_sql(score: str, profile: ScoringProfile | None) -> tuple[str, list]:
    """The temperature of a score (an SQL expression) as SQL and its parameters."""
    default = ScoringProfile()
    warm = profile.warm_threshold if profile else default.warm_threshold
    hot = profile.hot_threshold if profile else default.hot_threshold
    sql = f"CASE WHEN {score} >= %s THEN %s WHEN {score} >= %s THEN %s ELSE %s END"
    return sql, [hot, T.HOT, warm, T.WARM, T.COLD]


def funnel_sql(stage: str, temperature: str) -> tuple[str, list]:
    """``FUNNEL_TABLE`` as an SQL expression over a stage and a temperature."""
    whens, params = [], []
    for name, sections in FUNNEL_TABLE.items():
        for value, section in zip(TEMPERATURES, sections, strict=True):
            if section:
                whens.append(f"WHEN {stage} = %s AND {temperature} = %s THEN %s")
                params += [name, value, section]
    return f"CASE {' '.join(whens)} ELSE '' END", params


# --- sales' hand-off ---------------------------------------------------------------------

MAX_REASON = 500


def _mql_for_write(workspace: Workspace, contact_id: int, actor: Actor) -> Contact:
    contact = contact_for_write(workspace, contact_id, actor)
    if contact.lifecycle_stage != LifecycleStage.MQL:
        raise Conflict("Only an MQL can be accepted or rejected; this contact is not one now.")
    return contact


def mql_accept(*, workspace: Workspace, contact_id: int, actor: Actor, reason: str = "") -> Contact:
    """Sales accepts an MQL: it becomes a sales-qualified lead, recorded with the member
    and the reason (``Accepted by sales`` when none), and audited. A member who cannot see
    the contact gets NotFound; a contact that is not an MQL, Conflict."""
    reason = _reason_clean(reason, required=False) or "Accepted by sales"
    return _hand_off(workspace, contact_id, actor, LifecycleStage.SQL, reason, "accepted")


def mql_reject(*, workspace: Workspace, contact_id: int, actor: Actor, reason: str) -> Contact:
    """Sales rejects an MQL with a reason (required): it goes back to nurture, recorded
    with the member and the reason, and audited."""
    reason = _reason_clean(reason, required=True)
    return _hand_off(workspace, contact_id, actor, LifecycleStage.NURTURE, reason, "rejected")


def _reason_clean(reason: object, *, required: bool) -> str:
    if reason is None:
        reason = ""
    if not isinstance(reason, str) or "\x00" in reason:
        raise ValidationFailed([FieldError("reason", "Must be text.")])
    reason = " ".join(reason.split())
    if required and not reason:
        raise ValidationFailed([FieldError("reason", "Say why the lead is rejected.")])
    if len(reason) > MAX_REASON:
        raise ValidationFailed([FieldError("reason", f"At most {MAX_REASON} characters.")])
    return reason


def _hand_off(
    workspace: Workspace, contact_id: int, actor: Actor, stage: str, reason: str, verb: str
) -> Contact:
    with transaction.atomic():
        contact = _mql_for_write(workspace, contact_id, actor)
        contacts_stage_advance(
            workspace=workspace,
            stage=stage,
            from_stages=(LifecycleStage.MQL,),
            actor=actor,
            reason=reason,
            contact_ids=[contact.pk],
        )
        audit_record(
            workspace=workspace,
            actor=actor,
            action=f"scoring.mql_{verb}",
            obj=contact,
            changes={"lifecycle_stage": [LifecycleStage.MQL, stage], "reason": reason},
        )
        contact.refresh_from_db()
    return contact
