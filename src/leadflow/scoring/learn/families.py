"""The candidate model families and their calibrated form.

Every family is a scikit-learn classifier taking the dataset's raw matrix (numbers with
NaN, category codes, flags) and offering ``decision_function`` (a log-odds-like score), so
selection, calibration and explanations treat them alike:

- "logistic": median imputation with missing-value indicators and scaling for numbers,
  one-hot for categories (unknown as its own value), L2 logistic regression with balanced
  class weights, its strength C chosen by an inner 3-fold search on ROC AUC.
- "boosting": histogram gradient boosting with native categories and early stopping on a
  stratified validation part once there are 2,000 rows. It is trained unweighted: rare
  outcomes are handled by choosing on ROC AUC (blind to the base rate), by leaves of at
  least 20 rows, and by the calibration; sample weights make scikit-learn 1.9's histogram
  path about ten times slower (measured: 0.47 s against 5.4 s of CPU for 50 trees on
  6,000 x 100) for no gain in AUC on our generated sets.
- "frequency": :class:`FrequencyModel`, smoothed per-value conversion rates combined as
  naive Bayes log-odds (what Odoo does): the floor, and the low-data fallback.
"""

import numpy as np
from scipy.special import expit, logit
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from .dataset import FeatureSpec

FAMILIES: dict[str, str] = {
    "frequency": "Smoothed frequency model (naive Bayes)",
    "logistic": "Regularised logistic regression",
    "boosting": "Histogram gradient boosting",
}
# Isotonic calibration needs plenty of outcomes; below this, a sigmoid (Platt) fit.
ISOTONIC_MIN_ROWS = 1000
ISOTONIC_MIN_POSITIVES = 100
# Histogram gradient boosting handles at most this many values of a category natively;
# a category with more (or whose values are not listed) is treated as its code.
BOOSTING_MAX_CATEGORIES = 250


def compute_threads(threads: int | None):
    """A context in which scikit-learn's OpenMP and BLAS use at most ``threads`` threads
    (None: their default, every core). One thread is the default of training and scoring:
    on a machine shared with the web server and the database, OpenMP's spinning threads
    made gradient boosting 45 times slower (42 s against 0.9 s for one fit of 3,000 x 100
    with two threads under load), while one thread loses at most the second core."""
    return threadpool_limits(threads)


class FrequencyModel(ClassifierMixin, BaseEstimator):
    """Naive Bayes over smoothed frequencies: each feature's value (numbers binned into
    quantiles, categories and flags as they are, unknown as its own value) has a conversion
    rate ``(positives + smoothing x base rate) / (rows + smoothing)``; the score is the base
    rate's log-odds plus each feature's log-odds over the base rate's. A value unseen in
    training counts as the base rate (adds nothing)."""

    def __init__(self, kinds: tuple[str, ...] = (), bins: int = 10, smoothing: float = 10.0):
        self.kinds = kinds
        self.bins = bins
        self.smoothing = smoothing

    def fit(self, X, y):
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y).astype(np.int64)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = X.shape[1]
        kinds = self.kinds or ("number",) * X.shape[1]
        base = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
        self.base_log_odds_ = float(logit(base))
        # Per column: the numbers' bin edges (None for codes) and each bin's log-odds over
        # the base rate's; a column's last bin is "unknown".
        self.edges_: list[np.ndarray | None] = []
        self.weights_: list[np.ndarray] = []
        for column, kind in zip(X.T, kinds, strict=True):
            known = column[~np.isnan(column)]
            if kind == "number":
                quantiles = np.linspace(0, 1, self.bins + 1)[1:-1]
                edges = np.unique(np.quantile(known, quantiles)) if known.size else np.array([])
                size = len(edges) + 2
            else:
                edges = None
                size = int(known.max()) + 2 if known.size else 1
            index = self._bins(column, edges, size)
            positives = np.bincount(index, weights=y, minlength=size)
            totals = np.bincount(index, minlength=size)
            rate = (positives + self.smoothing * base) / (totals + self.smoothing)
            self.edges_.append(edges)
            self.weights_.append(logit(rate) - self.base_log_odds_)
        return self

    @staticmethod
    def _bins(column: np.ndarray, edges: np.ndarray | None, size: int) -> np.ndarray:
        """Each row's bin: a number's quantile bin or a code, unknown in the last bin (size
        - 1), and a code never seen in training (beyond the table) in it too."""
        missing = np.isnan(column)
        filled = np.where(missing, 0.0, column)
        if edges is not None:
            index = np.searchsorted(edges, filled, side="right")
        else:
            index = np.minimum(filled.astype(np.int64), size - 1)
        return np.where(missing, size - 1, index)

    def decision_function(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        score = np.full(X.shape[0], self.base_log_odds_)
        for column, edges, weights in zip(X.T, self.edges_, self.weights_, strict=True):
            part = weights[self._bins(column, edges, len(weights))]
            if edges is None:
                # A category value never seen in training adds nothing (not "unknown").
                unseen = ~np.isnan(column) & (column >= len(weights) - 1)
                part = np.where(unseen, 0.0, part)
            score += part
        return score

    def predict_proba(self, X) -> np.ndarray:
        positive = expit(self.decision_function(X))
        return np.column_stack([1 - positive, positive])

    def predict(self, X) -> np.ndarray:
        return (self.decision_function(X) > 0).astype(np.int64)


class AllMissingAsZero(BaseEstimator, TransformerMixin):
    """Columns with no value at all in the rows it is fitted on become 0 (fit and
    transform alike). A column can be empty in one cross-validation fold though not in the
    whole set, and scikit-learn's histogram boosting cannot bin an empty column ("window
    shape cannot be larger than input array shape"); empty, it carries nothing anyway."""

    def fit(self, X, y=None):
        self.empty_ = np.all(np.isnan(np.asarray(X, dtype=float)), axis=0)
        return self

    def transform(self, X):
        if not self.empty_.any():
            return X
        X = np.array(X, dtype=float, copy=True)
        X[:, self.empty_] = 0.0
        return X


def family_estimator(
    family: str,
    specs: list[FeatureSpec],
    categories: dict[str, list[str]],
    *,
    rows: int,
    random_state: int = 0,
):
    """An unfitted classifier of ``family`` for data described by ``specs``."""
    numbers = [i for i, spec in enumerate(specs) if spec.kind == "number"]
    codes = [i for i, spec in enumerate(specs) if spec.kind == "category"]
    flags = [i for i, spec in enumerate(specs) if spec.kind == "flag"]
    if family == "frequency":
        return FrequencyModel(kinds=tuple(spec.kind for spec in specs))
    if family == "logistic":
        parts = []
        if numbers:
            numeric = Pipeline(
                [
                    ("impute", SimpleImputer(strategy="median", add_indicator=True)),
                    ("scale", StandardScaler()),
                ]
            )
            parts.append(("numbers", numeric, numbers))
        if codes:
            parts.append(("categories", OneHotEncoder(handle_unknown="ignore"), codes))
        if flags:
            parts.append(("flags", SimpleImputer(strategy="constant", fill_value=0), flags))
        model = LogisticRegressionCV(
            Cs=[0.01, 0.1, 1.0, 10.0],
            cv=3,
            scoring="roc_auc",
            class_weight="balanced",
            max_iter=2000,
            l1_ratios=(0.0,),
            use_legacy_attributes=False,
        )
        return Pipeline([("encode", ColumnTransformer(parts)), ("model", model)])
    if family == "boosting":
        native = [
            spec.kind == "category"
            and 0 < len(categories.get(spec.name, ())) <= BOOSTING_MAX_CATEGORIES
            for spec in specs
        ]
        return Pipeline([("blank", AllMissingAsZero()), ("model", HistGradientBoostingClassifier(
            learning_rate=0.1,
            max_iter=300,
            max_leaf_nodes=15,
            min_samples_leaf=20,
            l2_regularization=1.0,
            categorical_features=np.array(native) if any(native) else None,
            early_stopping=rows >= 2000,
            validation_fraction=0.15,
            n_iter_no_change=15,
            random_state=random_state,
        ))])  # fmt: skip
    raise ValueError(f"unknown model family {family!r}; one of {', '.join(FAMILIES)}")


def calibration_method(rows: int, positives: int) -> str:
    """Isotonic with plenty of outcomes, else sigmoid."""
    if rows >= ISOTONIC_MIN_ROWS and positives >= ISOTONIC_MIN_POSITIVES:
        return "isotonic"
    return "sigmoid"


def calibrated_estimator(
    family: str,
    specs: list[FeatureSpec],
    categories: dict[str, list[str]],
    *,
    rows: int,
    positives: int,
    random_state: int = 0,
) -> CalibratedClassifierCV:
    """``family``'s classifier calibrated by an inner stratified 3-fold (fewer with fewer
    outcomes): one model fitted on all rows, its calibration fitted on out-of-fold scores."""
    negatives = rows - positives
    folds = max(2, min(3, positives, negatives))
    return CalibratedClassifierCV(
        family_estimator(family, specs, categories, rows=rows, random_state=random_state),
        method=calibration_method(rows, positives),
        cv=StratifiedKFold(folds, shuffle=True, random_state=random_state),
        ensemble=False,
    )


def plain_logistic() -> Pipeline:
    """Plain logistic regression (median imputation, scaling, C=1): a baseline to beat."""
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
            ("model", LogisticRegression(max_iter=2000)),
        ]
    )
