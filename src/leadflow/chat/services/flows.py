"""Writes for flows: create, change, publish, delete (each audited, each one transaction).

Every save checks the draft graph (``chat.graph.graph_clean``: an unknown step, an
unreachable one, a cycle without input are refused naming the step), the contact condition
leaves against the workspace's condition fields and the custom fields an answer fills.
Publishing copies the draft into a new ``FlowVersion`` (numbered from 1); conversations
already running stay on their version.
"""

from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from leadflow.chat.graph import graph_clean
from leadflow.chat.models import Conversation, Flow, FlowStatus, FlowVersion
from leadflow.chat.proactive import proactive_clean
from leadflow.contacts.conditions import Condition, ConditionContext, conditions_validate
from leadflow.contacts.models import CustomField
from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.selectors import LEAD_OWNER_PERMISSION, is_member_id
from leadflow.core.services import audit_record
from leadflow.deals.models import Product

MAX_PAGE_RULES = 50
MAX_PATTERN = 200
FLOW_KEYS = {"name", "status", "page_rules", "priority", "graph", "proactive"}


def flow_graph_clean(workspace: Workspace, graph: Any) -> dict[str, Any]:
    """The graph as stored, checked against this workspace (see the module docstring)."""
    custom = set(CustomField.objects.filter(workspace=workspace).values_list("key", flat=True))
    context = ConditionContext(workspace=workspace)

    def check_contact_leaf(leaf: Condition, path: str) -> list[FieldError]:
        try:
            conditions_validate(leaf, context, path=path)
        except ValidationFailed as failure:
            return failure.errors
        return []

    def check_step(step: dict[str, Any], path: str) -> list[FieldError]:
        """A product step's product is this workspace's and offered; a meeting step's
        member may own leads here."""
        if step["kind"] == "product":
            if not Product.objects.filter(
                workspace=workspace, pk=step["product"], active=True
            ).exists():
                return [
                    FieldError(
                        f"{path}.product", f"Step {step['id']}: not an offered product here."
                    )
                ]
        elif step.get("member") and not is_member_id(
            workspace, step["member"], permission=LEAD_OWNER_PERMISSION
        ):
            return [
                FieldError(
                    f"{path}.member", f"Step {step['id']}: not a member who may own leads here."
                )
            ]
        return []

    return graph_clean(
        graph,
        known_field=custom.__contains__,
        check_contact_leaf=check_contact_leaf,
        check_step=check_step,
    )


def _page_rules_clean(value: Any, errors: list[FieldError]) -> dict[str, list[str]]:
    if not isinstance(value, dict) or set(value) - {"include", "exclude"}:
        errors.append(FieldError("page_rules", "An object with include and exclude lists."))
        return {}
    rules = {}
    for key in ("include", "exclude"):
        patterns = value.get(key, [])
        if not isinstance(patterns, list) or len(patterns) > MAX_PAGE_RULES:
            errors.append(FieldError(f"page_rules.{key}", f"A list of at most {MAX_PAGE_RULES}."))
            continue
        for index, pattern in enumerate(patterns):
            if not isinstance(pattern, str) or not pattern.strip() or len(pattern) > MAX_PATTERN:
                errors.append(
                    FieldError(f"page_rules.{key}[{index}]", "A page address pattern (* for any).")
                )
        rules[key] = [p.strip() for p in patterns if isinstance(p, str)]
    return rules


def _clean(workspace: Workspace, data: Any, *, creating: bool) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("body", "An object.")])
    errors = [FieldError(key, "Unknown field.") for key in data if key not in FLOW_KEYS]
    clean: dict[str, Any] = {}
    if "name" in data or creating:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 200 or "\x00" in name:
            errors.append(FieldError("name", "A name of 1 to 200 characters."))
        else:
            clean["name"] = name.strip()
    if "status" in data:
        if data["status"] not in FlowStatus.values:
            errors.append(FieldError("status", f"One of: {', '.join(FlowStatus.values)}."))
        else:
            clean["status"] = data["status"]
    if "priority" in data:
        priority = data["priority"]
        if isinstance(priority, bool) or not isinstance(priority, int) or abs(priority) > 1000:
            errors.append(FieldError("priority", "A whole number from -1000 to 1000."))
        else:
            clean["priority"] = priority
    if "page_rules" in data:
        clean["page_rules"] = _page_rules_clean(data["page_rules"], errors)
    if "proactive" in data:  # the launcher's proactive start (chat.proactive)
        try:
            clean["proactive"] = proactive_clean(data["proactive"])
        except ValidationFailed as failure:
            errors.extend(failure.errors)
    if "graph" in data:
        try:
            clean["draft"] = flow_graph_clean(workspace, data["graph"])
        except ValidationFailed as failure:
            errors.extend(failure.errors)
    if errors:
        raise ValidationFailed(errors)
    return clean


def flow_get(workspace: Workspace, flow_id: int) -> Flow:
    flow = Flow.objects.filter(workspace=workspace, pk=flow_id).first()
    if flow is None:
        raise NotFound("No such flow.")
    return flow


def flow_create(*, workspace: Workspace, data: dict[str, Any], actor: Actor) -> Flow:
    """A new flow (a draft unless ``status`` says otherwise; it runs once published)."""
    clean = _clean(workspace, data, creating=True)
    with transaction.atomic():
        flow = Flow.objects.create(workspace=workspace, **clean)
        audit_record(workspace=workspace, actor=actor, action="chat_flow.created", obj=flow)
    return flow


def flow_update(*, workspace: Workspace, flow_id: int, data: dict[str, Any], actor: Actor) -> Flow:
    """Change a flow's settings or its draft; the published versions stay as they are."""
    clean = _clean(workspace, data, creating=False)
    with transaction.atomic():
        flow = Flow.objects.select_for_update().filter(workspace=workspace, pk=flow_id).first()
        if flow is None:
            raise NotFound("No such flow.")
        for key, value in clean.items():
            setattr(flow, key, value)
        flow.updated_at = timezone.now()
        flow.save()
        audit_record(
            workspace=workspace,
            actor=actor,
            action="chat_flow.updated",
            obj=flow,
            changes={key: True for key in clean},
        )
    return flow


def flow_publish(*, workspace: Workspace, flow_id: int, actor: Actor) -> FlowVersion:
    """Publish the draft as the next version (checked again: custom fields or condition
    fields may have gone since it was saved). The flow becomes active."""
    with transaction.atomic():
        flow = Flow.objects.select_for_update().filter(workspace=workspace, pk=flow_id).first()
        if flow is None:
            raise NotFound("No such flow.")
        try:
            graph = flow_graph_clean(workspace, flow.draft)
        except ValidationFailed as failure:
            raise ValidationFailed(failure.errors, "The draft cannot be published.") from None
        number = (flow.versions.aggregate(top=Max("number"))["top"] or 0) + 1
        version = FlowVersion.objects.create(
            workspace=workspace,
            flow=flow,
            number=number,
            graph=graph,
            published_by=actor.label[:200],
        )
        flow.current_version = version
        if flow.status == FlowStatus.DRAFT:
            flow.status = FlowStatus.ACTIVE
        flow.updated_at = timezone.now()
        flow.save(update_fields=["current_version", "status", "updated_at"])
        audit_record(
            workspace=workspace,
            actor=actor,
            action="chat_flow.published",
            obj=flow,
            changes={"version": number},
        )
    return version


def flow_delete(*, workspace: Workspace, flow_id: int, actor: Actor) -> None:
    """Delete a flow that never ran; one with conversations is paused instead (their
    transcripts stay readable), answered as a Conflict."""
    with transaction.atomic():
        flow = Flow.objects.select_for_update().filter(workspace=workspace, pk=flow_id).first()
        if flow is None:
            raise NotFound("No such flow.")
        if Conversation.objects.filter(workspace=workspace, flow=flow).exists():
            raise Conflict("This flow has conversations; pause it instead.")
        audit_record(workspace=workspace, actor=actor, action="chat_flow.deleted", obj=flow)
        flow.current_version = None
        flow.save(update_fields=["current_version"])
        FlowVersion.objects.filter(flow=flow).delete()
        flow.delete()
