"""What the conversion model sees of a contact, read from the database as it was at a
moment (the contact's *cutoff*): profile fields, the first and last touch, the fit grade,
and behaviour aggregates (counts of each activity kind and tracked event type in the 7, 30
and 90 days before the cutoff, days since the last one, distinct pages, visits of the
workspace's key pages).

Point in time: a labelled contact's cutoff is its outcome date minus the workspace's
horizon (``ScoringProfile.outcome_horizon_days``); only rows with ``occurred_at`` before the
cutoff count, and plain-field and custom-field changes recorded by ``contact.updated``
activities at or after the cutoff are reverted (the value before the first such change is
the value at the cutoff). Limits (docs/scoring/training.md): a change made without an
activity (tracking's last touch, a merge's copied values) is not reverted; a company's own
size and industry, and the fit grade, are read as they are now.

Set-based: the behaviour aggregates (``scoring.behaviour``) are GROUP BY queries with
conditional sums, each contact's windows measured from its own cutoff, one query per batch
of contacts.

Never imports scikit-learn: ``leadflow.scoring.learn.dataset`` is plain numpy.
"""

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import numpy as np
from django.db.models import QuerySet
from django.utils import timezone

from leadflow.contacts.activity_kinds import ACTIVITY_KINDS, activity_kind_label
from leadflow.contacts.models import (
    FIT_GRADES,
    Activity,
    ActivityKind,
    Company,
    CompanySize,
    Contact,
    CustomField,
    Outcome,
)
from leadflow.core.models import Workspace
from leadflow.scoring.behaviour import WINDOWS, behaviour_fill, ids_dense
from leadflow.scoring.learn.dataset import Dataset, FeatureSpec
from leadflow.scoring.models import ScoringProfile
from leadflow.tracking.models import EventType

# Contacts per batch: one aggregate query per source per batch.
BATCH = 20_000
# A category keeps its most frequent values in the training set; the rest are "other".
TOP_VALUES = 20
OTHER = "other"
# Kinds found only in the data (imported histories can bring any): at most this many join
# the registered kinds, which always have their columns (the apps' own, some 60 by now).
MAX_OTHER_KINDS = 40
PLAN_VERSION = 1

# Seniority read from the job title: whole words, lower case.
TITLE_GROUPS: dict[str, tuple[str, ...]] = {
    "executive": ("ceo", "cto", "cfo", "coo", "cmo", "cio", "chief", "founder", "co-founder",
                  "owner", "president", "partner"),
    "vice_president": ("vp", "svp", "evp", "vice president"),
    "director": ("director", "head of", "head"),
    "manager": ("manager", "lead", "supervisor"),
    "junior": ("intern", "student", "assistant", "junior", "trainee"),
}  # fmt: skip
TITLE_LABELS = {
    "executive": "Job title: executive or founder",
    "vice_president": "Job title: vice president",
    "director": "Job title: director or head of",
    "manager": "Job title: manager or lead",
    "junior": "Job title: junior, assistant or intern",
}
_TITLE_WORDS = re.compile(
    r"\b("
    + "|".join(sorted({re.escape(word) for words in TITLE_GROUPS.values() for word in words},
                      key=len, reverse=True))
    + r")\b"
)  # fmt: skip
_WORD_GROUP = {word: group for group, words in TITLE_GROUPS.items() for word in words}

# Plain contact fields that become categories, with their words; reverted when a
# ``contact.updated`` after the cutoff changed them.
CATEGORY_FIELDS = {
    "country": "Country",
    "first_touch_source": "First touch source",
    "first_touch_channel": "First touch channel",
    "last_touch_source": "Latest touch source",
    "last_touch_channel": "Latest touch channel",
}
COMPANY_FIELDS = {"company_size": "Company size", "industry": "Industry"}
GRADE_NUMBER = {grade: float(len(FIT_GRADES) - 1 - index) for index, grade in enumerate(FIT_GRADES)}
_REVERTED = ("job_title", "company_id", *CATEGORY_FIELDS)
_NUMBER_TYPES = ("number",)


@dataclass
class FeaturePlan:
    """Which columns a model has, fixed when it is trained and stored with it, so the
    contacts it scores later get the same columns: the activity kinds and event types
    counted, the key-page patterns, the custom fields (key, label, type, choices) and the
    kept values of each category."""

    kinds: list[str] = field(default_factory=list)
    event_types: list[str] = field(default_factory=list)
    key_pages: list[str] = field(default_factory=list)
    custom: list[dict[str, Any]] = field(default_factory=list)
    vocabularies: dict[str, list[str]] = field(default_factory=dict)
    # Columns left out: one value, or unknown, for every training contact.
    dropped: list[str] = field(default_factory=list)
    version: int = PLAN_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FeaturePlan":
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})


class TrainingSet(NamedTuple):
    dataset: Dataset
    plan: FeaturePlan
    contact_ids: list[int]


# --- the plan ---------------------------------------------------------------------------


def plan_build(workspace: Workspace, *, raw: dict[str, list] | None = None) -> FeaturePlan:
    """The columns for this workspace's data now: the registered activity kinds (and any
    other kind in its activity log), every
    event type, its key pages and custom fields (text fields skipped), and the most
    frequent values of each category in ``raw`` (profile values of the training contacts)."""
    present = set(
        Activity.objects.filter(workspace=workspace).values_list("kind", flat=True).distinct()
    )
    # Registered kinds always have their columns, so the columns do not depend on what
    # happened after anyone's cutoff; a kind only found in the data (imported) joins them.
    registered = set(ACTIVITY_KINDS) - {ActivityKind.CONTACT_UPDATED}
    others = sorted(present - registered - {ActivityKind.CONTACT_UPDATED})[:MAX_OTHER_KINDS]
    kinds = sorted(registered | set(others))
    profile = ScoringProfile.objects.filter(workspace=workspace).first()
    key_pages = [str(page) for page in (profile.key_pages if profile else []) if str(page).strip()]
    custom = [
        {"key": f.key, "label": f.label, "type": f.field_type, "choices": list(f.choices or [])}
        for f in CustomField.objects.filter(workspace=workspace).order_by("position", "id")
        if f.field_type != "text"
    ]
    vocabularies: dict[str, list[str]] = {}
    for name in (*CATEGORY_FIELDS, *COMPANY_FIELDS):
        values = [value for value in (raw or {}).get(name, []) if value]
        if name == "company_size":
            vocabularies[name] = list(CompanySize.values)
            continue
        counted: dict[str, int] = {}
        for value in values:
            counted[value] = counted.get(value, 0) + 1
        top = sorted(counted, key=lambda value: (-counted[value], value))[:TOP_VALUES]
        vocabularies[name] = [*top, OTHER]
    for spec in custom:
        if spec["type"] == "choice":
            vocabularies[f"custom.{spec['key']}"] = [str(c) for c in spec["choices"]] + [OTHER]
    return FeaturePlan(
        kinds=kinds,
        event_types=list(EventType.values),
        key_pages=key_pages,
        custom=custom,
        vocabularies=vocabularies,
    )


def plan_specs(plan: FeaturePlan) -> list[FeatureSpec]:
    """The feature specs of the plan, in column order (what ``features_build`` fills)."""
    specs = [
        FeatureSpec(f"title_{group}", "flag", TITLE_LABELS[group], group="Job title")
        for group in TITLE_GROUPS
    ]
    for name, label in {**CATEGORY_FIELDS, **COMPANY_FIELDS}.items():
        specs.append(FeatureSpec(name, "category", label))
    specs.append(FeatureSpec("fit_grade", "number", "Fit grade (A=5 … F=0)"))
    for spec in plan.custom:
        key, label, kind = spec["key"], spec["label"], spec["type"]
        name = f"custom.{key}"
        if kind == "number":
            specs.append(FeatureSpec(name, "number", label))
        elif kind == "choice":
            specs.append(FeatureSpec(name, "category", label))
        elif kind == "boolean":
            specs.append(FeatureSpec(name, "flag", label))
        elif kind == "date":
            specs.append(FeatureSpec(name, "number", f"{label}: age", unit="days"))
        elif kind == "multi_choice":
            specs.extend(
                FeatureSpec(f"{name}={choice}", "flag", f"{label}: {choice}", group=label)
                for choice in spec["choices"]
            )
    for prefix, keys, label_of in (
        ("activity", plan.kinds, activity_kind_label),
        ("event", plan.event_types, _event_label),
    ):
        for key in keys:
            label = label_of(key)
            for days in WINDOWS:
                specs.append(
                    FeatureSpec(
                        f"{prefix}.{key}.{days}d",
                        "number",
                        f"{label}, times in the last {days} days",
                    )
                )
            specs.append(
                FeatureSpec(
                    f"{prefix}.{key}.days_since",
                    "number",
                    f"Days since the last “{label}”",
                    unit="days",
                )
            )
    specs.append(FeatureSpec("pages.distinct", "number", "Distinct pages viewed"))
    for pattern in plan.key_pages:
        for days in WINDOWS:
            specs.append(
                FeatureSpec(
                    f"key_page.{pattern}.{days}d",
                    "number",
                    f"Visited {pattern}, times in the last {days} days",
                )
            )
    return specs


def _event_label(event_type: str) -> str:
    try:
        return EventType(event_type).label
    except ValueError:
        return event_type


# --- building ---------------------------------------------------------------------------


def features_build(
    workspace: Workspace,
    *,
    contacts: QuerySet | Iterable[int],
    cutoffs: dict[int, dt.datetime | None] | None = None,
    plan: FeaturePlan | None = None,
    now: dt.datetime | None = None,
) -> Dataset:
    """The features of these contacts of the workspace (another workspace's ids are
    ignored), each as it was at its cutoff (``cutoffs[contact_id]``; missing or None: now),
    in the columns of ``plan`` (a model's; by default the workspace's data now). Rows are
    in ascending contact id order; ``y`` and ``times`` are None."""
    return _build(workspace, _ids(workspace, contacts), cutoffs or {}, plan, now).dataset


def feature_rows(
    workspace: Workspace,
    contact_ids: Iterable[int],
    *,
    plan: FeaturePlan | None = None,
    now: dt.datetime | None = None,
    checked: bool = False,
) -> TrainingSet:
    """``features_build`` at ``now`` for these ids, with the ids of the rows (those of the
    workspace, ascending) and the plan used. ``checked``: the ids are known to be the
    workspace's, ascending and distinct (read from it just before), so not read again."""
    ids = list(contact_ids) if checked else _ids(workspace, contact_ids)
    return _build(workspace, ids, {}, plan, now)


def labelled_dataset(workspace: Workspace) -> Dataset:
    """The training set: contacts with a known outcome (won or lost) and its date, each
    read at its outcome date minus the workspace's horizon; ``y`` is 1 for won, ``times``
    the outcome dates (epoch seconds)."""
    return labelled_training_set(workspace).dataset


def labelled_training_set(workspace: Workspace) -> TrainingSet:
    """``labelled_dataset`` with the plan it was built with and the contacts' ids."""
    profile = ScoringProfile.objects.filter(workspace=workspace).first()
    horizon = dt.timedelta(days=profile.outcome_horizon_days if profile else 1)
    rows = list(
        Contact.objects.filter(
            workspace=workspace, outcome__in=[Outcome.WON, Outcome.LOST], outcome_at__isnull=False
        )
        .order_by("pk")
        .values_list("pk", "outcome", "outcome_at")
    )
    ids = [pk for pk, _, _ in rows]
    cutoffs = {pk: outcome_at - horizon for pk, _, outcome_at in rows}
    built = _build(workspace, ids, cutoffs, None, None)
    built.plan.dropped = _uninformative(built.dataset)
    if built.plan.dropped:
        built = built._replace(dataset=_columns_drop(built.dataset, set(built.plan.dropped)))
    dataset = Dataset(
        specs=built.dataset.specs,
        X=built.dataset.X,
        y=np.array([1 if outcome == Outcome.WON else 0 for _, outcome, _ in rows], dtype=int),
        times=np.array([at.timestamp() for _, _, at in rows], dtype=float),
        categories=built.dataset.categories,
    )
    return built._replace(dataset=dataset)


def _uninformative(dataset: Dataset) -> list[str]:
    """Columns with one value (or none) for every training contact: nothing to learn."""
    X = dataset.X
    if not len(X):
        return []
    names = []
    for index, spec in enumerate(dataset.specs):
        known = X[:, index][~np.isnan(X[:, index])]
        if known.size == 0 or (known.size == len(X) and (known == known[0]).all()):
            names.append(spec.name)
    return names


def _columns_drop(dataset: Dataset, names: set[str]) -> Dataset:
    kept = [index for index, spec in enumerate(dataset.specs) if spec.name not in names]
    specs = [dataset.specs[index] for index in kept]
    return Dataset(
        specs=specs,
        X=dataset.X[:, kept],
        categories={k: v for k, v in dataset.categories.items() if k in {s.name for s in specs}},
    )


def _ids(workspace: Workspace, contacts: QuerySet | Iterable[int]) -> list[int]:
    if isinstance(contacts, QuerySet):
        return sorted(contacts.filter(workspace=workspace).values_list("pk", flat=True))
    wanted = sorted({int(pk) for pk in contacts})
    found: list[int] = []
    for start in range(0, len(wanted), BATCH):
        chunk = wanted[start : start + BATCH]
        found += _among(Contact.objects.filter(workspace=workspace), chunk, "pk", flat=True)
    return sorted(found)


def _among(contacts: QuerySet, ids: list[int], *fields: str, flat: bool = False) -> list:
    """``values_list(*fields)`` (the first field the id) of the contacts among these
    ascending ids: by the id range when the ids are dense (a list of 20,000 ids is planned
    and bound one by one, six times slower), the others found in it left out."""
    if not ids_dense(ids):
        return list(contacts.filter(pk__in=ids).values_list(*fields, flat=flat))
    rows = contacts.filter(pk__gte=ids[0], pk__lte=ids[-1]).values_list(*fields, flat=flat)
    wanted = set(ids)
    return [row for row in rows if (row if flat else row[0]) in wanted]


def _build(
    workspace: Workspace,
    ids: list[int],
    cutoffs: dict[int, dt.datetime | None],
    plan: FeaturePlan | None,
    now: dt.datetime | None,
) -> TrainingSet:
    now = now or timezone.now()
    raws = []
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        times = [cutoffs.get(pk) or now for pk in chunk]
        raw = _profile_raw(workspace.pk, chunk, times, reverting=bool(cutoffs))
        raws.append((chunk, times, raw))
    if plan is None:
        merged: dict[str, list] = {}
        for _, _, raw in raws:
            for name, values in raw.items():
                merged.setdefault(name, []).extend(values)
        plan = plan_build(workspace, raw=merged)
    specs = plan_specs(plan)
    blocks = [np.empty((0, len(specs)))]
    for chunk, times, raw in raws:
        blocks.append(_batch_matrix(workspace.pk, plan, specs, chunk, times, raw))
    if plan.dropped:
        dropped = set(plan.dropped)
        kept = [index for index, spec in enumerate(specs) if spec.name not in dropped]
        specs = [specs[index] for index in kept]
        blocks = [block[:, kept] for block in blocks]
    categories = {
        name: list(values)
        for name, values in plan.vocabularies.items()
        if name in {spec.name for spec in specs}
    }
    dataset = Dataset(specs=specs, X=np.vstack(blocks), y=None, times=None, categories=categories)
    return TrainingSet(dataset=dataset, plan=plan, contact_ids=ids)


def _batch_matrix(
    workspace_id: int,
    plan: FeaturePlan,
    specs: list[FeatureSpec],
    ids: list[int],
    times: list[dt.datetime],
    raw: dict[str, list],
) -> np.ndarray:
    column = {spec.name: index for index, spec in enumerate(specs)}
    matrix = np.full((len(ids), len(specs)), np.nan)
    _profile_fill(matrix, column, plan, raw, times)
    behaviour_fill(
        matrix,
        column,
        kinds=plan.kinds,
        event_types=plan.event_types,
        key_pages=plan.key_pages,
        workspace_id=workspace_id,
        ids=ids,
        times=times,
    )
    return matrix


# --- profile fields -----------------------------------------------------------------------


def _profile_raw(
    workspace_id: int, ids: list[int], times: list[dt.datetime], *, reverting: bool
) -> dict[str, list]:
    """The profile values of these contacts (reverted to their cutoffs when ``reverting``:
    some are in the past), column by column."""
    rows = _among(
        Contact.objects.filter(workspace_id=workspace_id),
        ids,
        *("pk", "job_title", "company_id", *CATEGORY_FIELDS, "fit_grade", "custom_fields"),
    )
    names = ("job_title", "company_id", *CATEGORY_FIELDS, "fit_grade", "custom_fields")
    by_id = {row[0]: dict(zip(names, row[1:], strict=True)) for row in rows}
    if reverting:
        _revert(workspace_id, by_id, dict(zip(ids, times, strict=True)))
    companies = {
        pk: (size, industry)
        for pk, size, industry in Company.objects.filter(
            workspace_id=workspace_id,
            pk__in={values["company_id"] for values in by_id.values() if values["company_id"]},
        ).values_list("pk", "size", "industry")
    }
    empty: dict[str, Any] = dict.fromkeys(names)
    ordered = [by_id.get(pk, empty) for pk in ids]
    raw = {name: [values[name] for values in ordered] for name in names}
    company_of = [companies.get(values["company_id"], (None, None)) for values in ordered]
    raw["company_size"] = [size for size, _ in company_of]
    raw["industry"] = [industry for _, industry in company_of]
    return raw


def _revert(
    workspace_id: int, by_id: dict[int, dict[str, Any]], cutoff_of: dict[int, dt.datetime]
) -> None:
    """Undo the field changes recorded at or after each contact's cutoff: the old value of
    the earliest such change of a field is its value at the cutoff. Only changes to the
    fields the features read; contacts scored at "now" have none to undo."""
    earliest = min(cutoff_of.values(), default=None)
    if earliest is None:
        return
    changes = (
        Activity.objects.filter(
            workspace_id=workspace_id,
            contact_id__in=list(by_id),
            kind=ActivityKind.CONTACT_UPDATED,
            occurred_at__gte=earliest,
        )
        .order_by("occurred_at", "pk")
        .values_list("contact_id", "occurred_at", "data")
    )
    done: set[tuple[int, str]] = set()
    for contact_id, occurred_at, data in changes:
        if occurred_at < cutoff_of[contact_id]:
            continue
        values = by_id[contact_id]
        for name, pair in ((data or {}).get("changes") or {}).items():
            if (contact_id, name) in done or not isinstance(pair, list) or len(pair) != 2:
                continue
            done.add((contact_id, name))
            if name in _REVERTED:
                values[name] = pair[0] if pair[0] is not None else ""
            elif name.startswith("custom_fields."):
                custom = dict(values["custom_fields"] or {})
                custom[name.removeprefix("custom_fields.")] = pair[0]
                values["custom_fields"] = custom


def _profile_fill(
    matrix: np.ndarray,
    column: dict[str, int],
    plan: FeaturePlan,
    raw: dict[str, list],
    times: list[dt.datetime],
) -> None:
    # Each distinct title is read once: its flags are a row of ``flags``, picked per contact.
    distinct: dict[str, int] = {}
    picked = [distinct.setdefault(title or "", len(distinct)) for title in raw["job_title"]]
    flags = np.zeros((len(distinct), len(TITLE_GROUPS)))
    for title, index in distinct.items():
        groups = {_WORD_GROUP[word] for word in _TITLE_WORDS.findall(title.lower())}
        flags[index] = [1.0 if group in groups else 0.0 for group in TITLE_GROUPS]
    if picked:
        matrix[:, [column[f"title_{group}"] for group in TITLE_GROUPS]] = flags[picked]
    for name in (*CATEGORY_FIELDS, *COMPANY_FIELDS):
        matrix[:, column[name]] = _codes(raw[name], plan.vocabularies.get(name, [OTHER]))
    matrix[:, column["fit_grade"]] = [
        GRADE_NUMBER.get(grade or "", np.nan) for grade in raw["fit_grade"]
    ]
    customs = [values or {} for values in raw["custom_fields"]]
    for spec in plan.custom:
        key, kind = spec["key"], spec["type"]
        name = f"custom.{key}"
        values = [custom.get(key) for custom in customs]
        if kind == "number":
            matrix[:, column[name]] = [_number(value) for value in values]
        elif kind == "boolean":
            matrix[:, column[name]] = [
                np.nan if value is None else (1.0 if value is True else 0.0) for value in values
            ]
        elif kind == "choice":
            matrix[:, column[name]] = _codes(
                [None if value is None else str(value) for value in values],
                plan.vocabularies.get(name, [OTHER]),
            )
        elif kind == "date":
            matrix[:, column[name]] = [
                _age_days(value, at) for value, at in zip(values, times, strict=True)
            ]
        elif kind == "multi_choice":
            for choice in spec["choices"]:
                matrix[:, column[f"{name}={choice}"]] = [
                    1.0 if isinstance(value, list) and choice in value else 0.0 for value in values
                ]


def _codes(values: list, vocabulary: list[str]) -> list[float]:
    """Category codes: the value's index in the vocabulary, "other" for a value not kept,
    NaN for no value."""
    index = {value: float(code) for code, value in enumerate(vocabulary)}
    other = index.get(OTHER, np.nan)
    return [np.nan if not value else index.get(value, other) for value in values]


def _number(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        return np.nan
    try:
        number = float(value)
    except (TypeError, ValueError):
        return np.nan
    return number if np.isfinite(number) else np.nan


def _age_days(value: Any, at: dt.datetime) -> float:
    if not isinstance(value, str) or not value:
        return np.nan
    try:
        day = dt.date.fromisoformat(value[:10])
    except ValueError:
        return np.nan
    return float((at.date() - day).days)
