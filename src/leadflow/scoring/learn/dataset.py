"""What the learner learns from: a feature matrix described by feature specs."""

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

FeatureKind = Literal["number", "category", "flag"]
KINDS = ("number", "category", "flag")


@dataclass(frozen=True)
class FeatureSpec:
    """One column of a dataset.

    ``kind``: "number" (a quantity; NaN when unknown), "category" (integer codes
    0..k-1 into ``Dataset.categories[name]``; NaN when unknown) or "flag" (0 or 1).
    ``label`` names the feature in a salesperson's words ("Pricing page visits, last 7
    days"); features sharing a non-empty ``group`` (a multi-choice field's indicators) are
    explained together under the group's name; ``unit`` ("days", "visits") is shown after a
    number unless the label already says it."""

    name: str
    kind: FeatureKind
    label: str
    group: str = ""
    unit: str = ""

    @property
    def group_name(self) -> str:
        """The name the feature is explained under: its group, or itself."""
        return self.group or self.name


@dataclass
class Dataset:
    """A feature matrix with its specs, and (for training) outcomes and their times.

    ``X`` is float64, one row per contact and one column per spec: numbers as numbers,
    categories as codes, flags as 0/1, NaN for unknown. ``y`` holds 0/1 outcomes (1 =
    converted); ``times`` the seconds since the epoch of each row's outcome (the time
    hold-out trains on the older rows). ``categories`` maps a category feature's name to the
    value of each code. Shapes and codes are checked on creation (ValueError)."""

    specs: list[FeatureSpec]
    X: np.ndarray
    y: np.ndarray | None = None
    times: np.ndarray | None = None
    categories: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.X = np.asarray(self.X, dtype=np.float64)
        if self.X.ndim != 2:
            raise ValueError("X must be a 2-d array (rows x features)")
        rows, columns = self.X.shape
        if columns != len(self.specs):
            raise ValueError(f"X has {columns} columns but there are {len(self.specs)} specs")
        names = [spec.name for spec in self.specs]
        if len(set(names)) != len(names):
            raise ValueError("feature names must be unique")
        for index, spec in enumerate(self.specs):
            if spec.kind not in KINDS:
                raise ValueError(f"{spec.name}: kind must be one of {', '.join(KINDS)}")
            column = self.X[:, index]
            known = column[~np.isnan(column)]
            if spec.kind == "flag" and not np.isin(known, (0.0, 1.0)).all():
                raise ValueError(f"{spec.name}: a flag is 0 or 1")
            if spec.kind == "category":
                if (known < 0).any() or (known != np.floor(known)).any():
                    raise ValueError(f"{spec.name}: category codes are integers from 0")
                values = self.categories.get(spec.name)
                if values is not None and known.size and known.max() >= len(values):
                    raise ValueError(f"{spec.name}: a code has no value in categories")
        if self.y is not None:
            self.y = np.asarray(self.y).astype(np.int64)
            if self.y.shape != (rows,):
                raise ValueError("y must have one outcome per row")
            if not np.isin(self.y, (0, 1)).all():
                raise ValueError("y holds 0 or 1")
        if self.times is not None:
            self.times = np.asarray(self.times, dtype=np.float64)
            if self.times.shape != (rows,):
                raise ValueError("times must have one time per row")
            if np.isnan(self.times).any():
                raise ValueError("times must all be known")

    @property
    def rows(self) -> int:
        return self.X.shape[0]

    @property
    def positives(self) -> int:
        return int(self.y.sum()) if self.y is not None else 0

    def subset(self, rows) -> "Dataset":
        """The same features for these rows (indices or a boolean mask)."""
        rows = np.asarray(rows)
        return Dataset(
            specs=self.specs,
            X=self.X[rows],
            y=None if self.y is None else self.y[rows],
            times=None if self.times is None else self.times[rows],
            categories=self.categories,
        )

    def columns(self, kind: FeatureKind) -> list[int]:
        """Indices of the columns of one kind."""
        return [index for index, spec in enumerate(self.specs) if spec.kind == kind]

    def groups(self) -> dict[str, list[int]]:
        """Explanation groups in column order: group name -> its column indices."""
        return feature_groups(self.specs)


def feature_groups(specs: list[FeatureSpec]) -> dict[str, list[int]]:
    """Group name (a spec's group, or its own name) -> column indices, in column order."""
    groups: dict[str, list[int]] = {}
    for index, spec in enumerate(specs):
        groups.setdefault(spec.group_name, []).append(index)
    return groups
