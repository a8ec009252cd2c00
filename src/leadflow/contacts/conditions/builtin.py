"""The fields contacts itself offers: the contact's columns, its company's, tags, owner,
lifecycle stage (with funnel order), custom fields (``custom.<key>``, every type), free-text
search, an import, and behaviour over the activity log (``activity.<kind>``)."""

from django.db.models import Q

from leadflow.contacts.activity_kinds import activity_kind_get
from leadflow.contacts.conditions.compiler import behaviour_compile
from leadflow.contacts.conditions.fields import (
    ConditionContext,
    ConditionField,
    condition_family_register,
    condition_field_register,
)
from leadflow.contacts.models import (
    Activity,
    ActivityKind,
    Company,
    CompanySize,
    ConsentStatus,
    Contact,
    CustomFieldType,
    LifecycleStage,
    Temperature,
)


def _text(key: str, column: str, *, nullable: bool = False, label: str = "") -> ConditionField:
    return ConditionField(
        key=key, type="text", column=column, nullable=nullable, blank_empty=True, label=label
    )


def _choice(key: str, column: str, choices, *, nullable: bool = False) -> ConditionField:
    return ConditionField(
        key=key,
        type="choice",
        column=column,
        nullable=nullable,
        blank_empty=True,
        choices=tuple(value for value, _ in choices),
    )


def _tags(context: ConditionContext, operator: str, value) -> Q:
    through = Contact.tags.through
    tagged = through.objects.filter(tag__workspace=context.workspace)
    if operator in ("is_empty", "is_set"):
        any_tag = Q(pk__in=tagged.values("contact_id"))
        return any_tag if operator == "is_set" else ~any_tag
    if operator == "has_all":
        combined = Q()
        for name in value:
            combined &= Q(pk__in=tagged.filter(tag__name=name).values("contact_id"))
        return combined
    some = Q(pk__in=tagged.filter(tag__name__in=value).values("contact_id"))
    return ~some if operator == "has_none" else some


def search_condition(context: ConditionContext, operator: str, value: str) -> Q:
    """Free text over email, first and last name (one indexed column) and company name.

    Matching companies are looked up first (a few rows, one small query while compiling) so
    the contact side stays one indexable condition instead of an OR across a join.
    """
    needle = " ".join(value.lower().split())[:100]
    condition = Q(search_text__contains=needle)
    company_ids = list(
        Company.objects.filter(workspace=context.workspace, name__icontains=needle)
        .order_by()
        .values_list("pk", flat=True)[:200]
    )
    if company_ids:
        condition |= Q(company_id__in=company_ids)
    return condition


def _import(context: ConditionContext, operator: str, value: int) -> Q:
    """The contacts an import job created or changed."""
    return Q(
        pk__in=Activity.objects.filter(
            workspace=context.workspace,
            kind=ActivityKind.CONTACT_IMPORTED,
            data__import_job=value,
        ).values("contact_id")
    )


_CUSTOM_TYPES = {
    CustomFieldType.TEXT: "text",
    CustomFieldType.NUMBER: "number",
    CustomFieldType.DATE: "date",
    CustomFieldType.BOOLEAN: "boolean",
    CustomFieldType.CHOICE: "choice",
    CustomFieldType.MULTI_CHOICE: "multi_choice",
}


def _custom_field(context: ConditionContext, key: str) -> ConditionField | None:
    definition = context.custom_fields.get(key)
    if definition is None:
        return None
    kind = _CUSTOM_TYPES[definition.field_type]
    return ConditionField(
        key=f"custom.{key}",
        type=kind,
        label=definition.label,
        column=f"custom_fields__{key}",
        json_key=True,
        blank_empty=kind == "text",
        choices=tuple(definition.choices or ()),
    )


def _activity_field(context: ConditionContext, kind: str) -> ConditionField | None:
    if activity_kind_get(kind) is None:
        return None

    def compile_activity(context: ConditionContext, operator: str, value) -> Q:
        events = Activity.objects.filter(workspace=context.workspace, kind=kind)
        return behaviour_compile(events, context, operator, value)

    return ConditionField(key=f"activity.{kind}", type="behaviour", compile=compile_activity)


condition_field_register(
    _text("email", "email", nullable=True),
    _text("phone", "phone", nullable=True),
    _text("first_name", "first_name"),
    _text("last_name", "last_name"),
    _text("job_title", "job_title"),
    _text("country", "country"),
    _text("street_address", "street_address"),
    _text("city", "city"),
    _text("region", "region"),
    _text("postal_code", "postal_code"),
    ConditionField(key="date_of_birth", type="date", column="date_of_birth", nullable=True),
    _text("first_touch_source", "first_touch_source"),
    _text("first_touch_medium", "first_touch_medium"),
    _text("first_touch_campaign", "first_touch_campaign"),
    _text("first_touch_channel", "first_touch_channel"),
    _text("last_touch_source", "last_touch_source"),
    _text("last_touch_medium", "last_touch_medium"),
    _text("last_touch_campaign", "last_touch_campaign"),
    _text("last_touch_channel", "last_touch_channel"),
    ConditionField(
        key="lifecycle_stage",
        type="stage",
        column="lifecycle_stage",
        blank_empty=True,
        choices=tuple(value for value, _ in LifecycleStage.choices),
    ),
    _choice("temperature", "temperature", Temperature.choices),
    _choice("consent_status", "consent_status", ConsentStatus.choices),
    ConditionField(key="owner", type="owner", column="owner_id", nullable=True),
    ConditionField(key="company", type="reference", column="company_id", nullable=True),
    _text("company.name", "company__name", nullable=True),
    _text("company.domain", "company__domain", nullable=True),
    _text("company.industry", "company__industry", nullable=True),
    _text("company.country", "company__country", nullable=True),
    _choice("company.size", "company__size", CompanySize.choices, nullable=True),
    ConditionField(key="tags", type="tags", compile=_tags),
    ConditionField(key="created_at", type="datetime", column="created_at"),
    ConditionField(key="updated_at", type="datetime", column="updated_at"),
    ConditionField(key="search", type="search", compile=search_condition),
    ConditionField(key="import", type="reference", operators=("eq",), compile=_import),
)
condition_family_register("custom.", _custom_field)
condition_family_register("activity.", _activity_field)
