"""A trained model as it is stored, its probabilities, and each lead's factors in words.

Factors are computed the same way for every family (occlusion): for each feature group, the
row's values are replaced by the group's reference values (the median of a number, the most
common value of a category or flag, over the training rows) and the model's score is
recomputed. The score difference (in the model's log-odds) is turned into probability points
at the lead's calibrated probability with the calibration's slope, so a factor reads "this
value, instead of a typical one, moved the probability by +8 points". The strongest 3-5 by
absolute effect are kept, near-zero ones dropped. Rows and groups are scored in stacked
batches, so explaining is a few model calls per ten thousand rows; a lead's factors score
only the groups where its values are not the typical ones already (replacing those changes
nothing: their effect is 0), most of them for most leads.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression

from .dataset import FeatureSpec, feature_groups
from .families import compute_threads

# An effect smaller than this (in probability, 0..1) is not worth a salesperson's time.
MIN_EFFECT = 0.002
# Rows x groups x features scored per model call while explaining (memory bound).
EXPLAIN_CELLS = 4_000_000
PREDICT_BATCH = 100_000
# Each lead's factors are sought among the groups that matter most overall (mean absolute
# effect on a sample of the training rows): explaining costs 1 + this many model calls a row.
EXPLAIN_MAX_GROUPS = 30
IMPORTANCE_SAMPLE = 2_000


@dataclass(frozen=True)
class Factor:
    """What moved one lead's probability: the feature (spec name or group), the signed
    change in probability (0..1 scale) its value made against a typical value, and words."""

    feature: str
    effect: float
    text: str

    def as_dict(self) -> dict:
        return {"feature": self.feature, "effect": self.effect, "text": self.text}


def _number(value: float) -> str:
    if value == math.floor(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def factor_text(spec: FeatureSpec, value: float, categories: dict[str, list[str]]) -> str:
    """A feature's value in a salesperson's words: "Pricing page visits, last 7 days: 3",
    "Company size: 201-1,000", "Job title contains director: yes", "Days since last
    visit: 40" (the unit is added when the label does not already say it)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{spec.label}: unknown"
    if spec.kind == "flag":
        return f"{spec.label}: {'yes' if value else 'no'}"
    if spec.kind == "category":
        values = categories.get(spec.name, [])
        code = int(value)
        return f"{spec.label}: {values[code] if 0 <= code < len(values) else 'other'}"
    shown = _number(float(value))
    if spec.unit and spec.unit.lower() not in spec.label.lower():
        shown = f"{shown} {spec.unit}"
    return f"{spec.label}: {shown}"


def reference_values(specs: list[FeatureSpec], X: np.ndarray) -> np.ndarray:
    """A typical value per column: the median of a number, the most common category or flag
    (NaN when a column is never known)."""
    references = np.full(len(specs), np.nan)
    for index, spec in enumerate(specs):
        column = X[:, index]
        known = column[~np.isnan(column)]
        if not known.size:
            continue
        if spec.kind == "number":
            references[index] = np.median(known)
        else:
            values, counts = np.unique(known, return_counts=True)
            references[index] = values[np.argmax(counts)]
    return references


@dataclass
class TrainedModel:
    """A fitted, calibrated model with what it needs to explain itself; picklable (joblib).

    ``calibrated`` is a fitted ``CalibratedClassifierCV`` (``ensemble=False``: one model
    fitted on every row and one calibrator), ``references`` the typical value per column,
    ``slope`` the calibrated log-odds per unit of the model's score (the calibration's
    slope), used to turn score differences into probability points; ``threads`` caps the
    compute threads while predicting (None: every core); ``importance`` each group's mean
    absolute effect on a sample of the training rows (strongest first): a lead's factors are
    sought among the ``EXPLAIN_MAX_GROUPS`` strongest."""

    calibrated: CalibratedClassifierCV
    family: str
    specs: list[FeatureSpec]
    categories: dict[str, list[str]]
    references: np.ndarray
    slope: float
    threads: int | None = 1
    # Group -> mean absolute effect over a sample of training rows, strongest first; None
    # (a model wrapped by hand) explains every group.
    importance: dict[str, float] | None = None

    @classmethod
    def from_fitted(
        cls,
        calibrated: CalibratedClassifierCV,
        *,
        family: str,
        specs: list[FeatureSpec],
        categories: dict[str, list[str]],
        X: np.ndarray,
        y: np.ndarray,
    ) -> "TrainedModel":
        """Wrap a calibrated model fitted on ``X``/``y``: references and slope from them."""
        model = cls(calibrated, family, specs, categories, reference_values(specs, X), 1.0)
        model.slope = model._calibration_slope(X, y)
        sample = X
        if len(X) > IMPORTANCE_SAMPLE:
            chosen = np.random.default_rng(0).choice(len(X), IMPORTANCE_SAMPLE, replace=False)
            sample = X[np.sort(chosen)]
        _, effects, names = model.effects(sample)
        mean = np.abs(effects).mean(axis=0) if len(sample) else np.zeros(len(names))
        order = np.argsort(-mean, kind="stable")
        model.importance = {names[index]: float(mean[index]) for index in order}
        return model

    def explained_groups(self) -> dict[str, list[int]]:
        """The groups a lead's factors are sought among (name -> columns): the
        ``EXPLAIN_MAX_GROUPS`` with the largest mean effect, leaving out those with none."""
        groups = feature_groups(self.specs)
        if self.importance is None:
            return groups
        strongest = [name for name, mean in self.importance.items() if mean > 0]
        return {name: groups[name] for name in strongest[:EXPLAIN_MAX_GROUPS]}

    @property
    def estimator(self):
        """The uncalibrated model (fitted on every training row)."""
        return self.calibrated.calibrated_classifiers_[0].estimator

    def _calibration_slope(self, X: np.ndarray, y: np.ndarray) -> float:
        calibrator = self.calibrated.calibrated_classifiers_[0].calibrators[0]
        if hasattr(calibrator, "a_"):  # sigmoid: p = 1 / (1 + exp(a x score + b))
            return float(max(-calibrator.a_, 0.0))
        score = self.score(X).reshape(-1, 1)
        fit = LogisticRegression(C=1e4, max_iter=1000).fit(score, y)
        return float(max(fit.coef_[0, 0], 0.0))

    def score(self, X: np.ndarray) -> np.ndarray:
        """The uncalibrated model's log-odds-like score per row."""
        return self.estimator.decision_function(np.asarray(X, dtype=np.float64))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Calibrated probability of converting, per row (a 1-d array)."""
        X = np.asarray(X, dtype=np.float64)
        with compute_threads(self.threads):
            parts = [
                self.calibrated.predict_proba(X[start : start + PREDICT_BATCH])[:, 1]
                for start in range(0, X.shape[0], PREDICT_BATCH)
            ]
        return np.concatenate(parts) if parts else np.zeros(0)

    def effects(
        self, X: np.ndarray, *, differing_only: bool = False
    ) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Probabilities (rows), effects (rows x groups, probability points on 0..1) and the
        group names (``explained_groups``): each group's values replaced by the references,
        score recomputed. ``differing_only``: a row whose values of a group are the
        references already is not scored again, its effect is 0 (replacing them changes
        nothing); most rows are typical in most groups, so this saves most model calls."""
        X = np.asarray(X, dtype=np.float64)
        groups = self.explained_groups()
        names = list(groups)
        rows, width = X.shape
        probability = self.predict_proba(X)
        effects = np.zeros((rows, len(names)))
        if not names:
            return probability, effects, names
        batch = max(1, EXPLAIN_CELLS // max(1, len(names) * width))
        for start in range(0, rows, batch):
            part = X[start : start + batch]
            base = self.score(part)
            if differing_only:
                change = self._changes(part, base, [groups[name] for name in names])
            else:
                stacked = np.repeat(part[np.newaxis], len(names), axis=0)
                for position, name in enumerate(names):
                    columns = groups[name]
                    stacked[position][:, columns] = self.references[columns]
                occluded = self.score(stacked.reshape(-1, width)).reshape(len(names), -1)
                change = (base[np.newaxis] - occluded).T
            change = change * self.slope
            # Read at no less than half a percent: an isotonic calibration may say 0 for the
            # least likely leads, whose factors would otherwise all vanish.
            level = logit(np.clip(probability[start : start + batch], 0.005, 0.995))
            effects[start : start + batch] = expit(level[:, np.newaxis]) - expit(
                level[:, np.newaxis] - change
            )
        return probability, effects, names

    def _changes(self, part: np.ndarray, base: np.ndarray, groups: list[list[int]]) -> np.ndarray:
        """Score minus occluded score (rows x groups), scoring only the (row, group) pairs
        whose values differ from the references (NaN matching NaN); the others are 0."""
        change = np.zeros((len(part), len(groups)))
        pieces, places = [], []
        for position, columns in enumerate(groups):
            values, typical = part[:, columns], self.references[columns]
            same = (values == typical) | (np.isnan(values) & np.isnan(typical))
            differing = np.flatnonzero(~same.all(axis=1))
            if differing.size:
                piece = part[differing]
                piece[:, columns] = typical
                pieces.append(piece)
                places.append((differing, position))
        if pieces:
            occluded = self.score(np.vstack(pieces))
            offset = 0
            for differing, position in places:
                scores = occluded[offset : offset + differing.size]
                change[differing, position] = base[differing] - scores
                offset += differing.size
        return change

    def explain(self, X: np.ndarray, top: int = 5) -> list[list[Factor]]:
        """Per row, up to ``top`` factors (strongest first by absolute effect, near-zero
        effects dropped), each naming its feature or group with the row's value in words."""
        _, features, effects, texts, ends = self._strongest(X, top)
        flat = list(map(Factor, features, effects, texts))
        return [flat[begin:end] for begin, end in zip([0, *ends], ends, strict=False)]

    def explain_records(self, X: np.ndarray, top: int = 5) -> tuple[list[float], list[list[dict]]]:
        """The probability of each row and its factors as they are stored (``explain``'s,
        as ``{"text", "effect", "feature"}`` dicts, the effect rounded to 4 places): the
        probabilities come from the same model calls as the factors, and no ``Factor`` is
        built, so scoring a batch costs one probability pass less."""
        probability, features, effects, texts, ends = self._strongest(X, top)
        flat = [
            {"text": text, "effect": round(effect, 4), "feature": feature}
            for feature, effect, text in zip(features, effects, texts, strict=True)
        ]
        factors = [flat[begin:end] for begin, end in zip([0, *ends], ends, strict=False)]
        return probability.tolist(), factors

    def _strongest(self, X: np.ndarray, top: int) -> tuple[np.ndarray, list, list, list, list]:
        """Probabilities, then the kept factors of every row, flat (features, effects,
        texts), and where each row's factors end in them."""
        X = np.asarray(X, dtype=np.float64)
        with compute_threads(self.threads):
            probability, effects, names = self.effects(X, differing_only=True)
        groups = self.explained_groups()
        order = np.argsort(-np.abs(effects), axis=1, kind="stable")[:, :top]
        strongest = np.take_along_axis(effects, order, axis=1)
        # Sorted by size, so the kept factors of a row are a prefix of its list.
        kept = np.abs(strongest) >= MIN_EFFECT
        rows, slots = np.nonzero(kept)
        positions = order[rows, slots]
        texts = np.empty(len(rows), dtype=object)
        for position, name in enumerate(names):
            cells = np.flatnonzero(positions == position)
            if cells.size:
                texts[cells] = self._texts(groups[name], X[rows[cells]])
        return (
            probability,
            np.array(names, dtype=object)[positions].tolist(),
            strongest[rows, slots].tolist(),
            texts.tolist(),
            np.cumsum(kept.sum(axis=1)).tolist(),
        )

    def _texts(self, columns: list[int], values: np.ndarray) -> np.ndarray:
        """Words for one group's values in each of these rows, each distinct value worded
        once (counts and categories repeat a lot)."""
        key = np.where(np.isnan(values[:, columns]), -np.inf, values[:, columns])
        if len(columns) == 1:
            _, first, inverse = np.unique(key[:, 0], return_index=True, return_inverse=True)
        else:
            _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        if len(columns) == 1:
            spec, column = self.specs[columns[0]], columns[0]
            words = np.array(
                [factor_text(spec, value, self.categories)
                 for value in values[first, column].tolist()],
                dtype=object,
            )  # fmt: skip
        else:
            words = np.array(
                [self._group_text(columns, values[index]) for index in first], dtype=object
            )
        return words[inverse.reshape(-1)]

    def _group_text(self, columns: list[int], row: np.ndarray) -> str:
        """Words for a group's values: the members that differ from the typical value (all
        of them when none does)."""
        differing = [
            column
            for column in columns
            if not (
                row[column] == self.references[column]
                or (np.isnan(row[column]) and np.isnan(self.references[column]))
            )
        ]
        return "; ".join(
            factor_text(self.specs[column], float(row[column]), self.categories)
            for column in differing or columns
        )
