"""Generated histories where the truth is known, for tests and the benchmark.

Deterministic by seed. Times spread outcomes over two years (seconds since the epoch), so the
time hold-out has something to split.
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from .dataset import Dataset, FeatureSpec

COMPANY_SIZES = ["1–10", "11–50", "51–200", "201–1,000", "1,001+"]
COUNTRIES = ["US", "GB", "DE", "FR", "ES", "IT", "NL", "SE"]
START = 1_700_000_000.0
TWO_YEARS = 2 * 365 * 86_400.0


@dataclass(frozen=True)
class HistoryTruth:
    """What drives conversion in :func:`history_with_drivers`: each driver's name and the
    sign of its effect (+1: a higher value, a larger company or "yes" raises the
    probability), the noise features, and every row's true probability."""

    drivers: dict[str, int]
    noise: tuple[str, ...]
    probability: np.ndarray


HISTORY_SPECS = [
    FeatureSpec("key_page_visits_7d", "number", "Pricing page visits, last 7 days", unit="visits"),
    FeatureSpec("company_size", "category", "Company size"),
    FeatureSpec("title_director", "flag", "Job title contains director"),
    FeatureSpec("days_since_visit", "number", "Days since last visit", unit="days"),
    FeatureSpec("page_views_30d", "number", "Page views, last 30 days", unit="views"),
    FeatureSpec("email_opens_30d", "number", "Email opens, last 30 days", unit="opens"),
    FeatureSpec("country", "category", "Country"),
    FeatureSpec("has_phone", "flag", "Phone number given"),
    FeatureSpec("employees_noise", "number", "Employees (self-reported)"),
    FeatureSpec("interest_webinars", "flag", "Interested in: webinars", group="interests"),
    FeatureSpec("interest_ebooks", "flag", "Interested in: e-books", group="interests"),
    FeatureSpec("interest_events", "flag", "Interested in: events", group="interests"),
]


def history_with_drivers(n: int, seed: int = 0) -> tuple[Dataset, HistoryTruth]:
    """``n`` labelled contacts (about 9 % converted) whose conversion depends on pricing
    page visits in the last 7 days (+), company size (+), a director job title (+, more so at
    larger companies) and days since the last visit (-); the other features are noise (page
    views are correlated with pricing visits but carry nothing of their own). Some values are
    unknown (NaN)."""
    rng = np.random.default_rng(seed)
    engaged = rng.gamma(1.0, 1.0, n)
    visits = rng.poisson(0.8 * engaged).astype(float)
    size = rng.choice(len(COMPANY_SIZES), n, p=[0.3, 0.25, 0.2, 0.15, 0.1]).astype(float)
    director = (rng.random(n) < 0.2).astype(float)
    days = np.round(rng.exponential(25, n))
    views = rng.poisson(3 + 4 * engaged).astype(float)
    opens = rng.poisson(2.0, n).astype(float)
    country = rng.integers(0, len(COUNTRIES), n).astype(float)
    phone = (rng.random(n) < 0.5).astype(float)
    employees = np.round(rng.lognormal(4, 1.5, n))
    interests = (rng.random((n, 3)) < 0.3).astype(float)
    log_odds = (
        -3.4
        + 0.55 * np.minimum(visits, 6)
        + 0.45 * size
        + 1.0 * director
        + 0.5 * director * (size >= 3)
        - 0.035 * days
    )
    probability = expit(log_odds)
    y = (rng.random(n) < probability).astype(np.int64)
    X = np.column_stack(
        [visits, size, director, days, views, opens, country, phone, employees, interests]
    )
    # Unknown values: some company sizes, days since a visit, employee counts and countries.
    for column, share in ((1, 0.08), (3, 0.05), (6, 0.1), (8, 0.2)):
        X[rng.random(n) < share, column] = np.nan
    times = START + np.sort(rng.random(n)) * TWO_YEARS
    dataset = Dataset(
        specs=list(HISTORY_SPECS),
        X=X,
        y=y,
        times=times,
        categories={"company_size": list(COMPANY_SIZES), "country": list(COUNTRIES)},
    )
    truth = HistoryTruth(
        drivers={
            "key_page_visits_7d": 1,
            "company_size": 1,
            "title_director": 1,
            "days_since_visit": -1,
        },
        noise=(
            "page_views_30d",
            "email_opens_30d",
            "country",
            "has_phone",
            "employees_noise",
            "interests",
        ),
        probability=probability,
    )
    return dataset, truth


def wide_rare(n: int, p: int = 100, positive_rate: float = 0.05, seed: int = 0) -> Dataset:
    """``n`` rows of ``p`` numeric features (six skewed, 3 % unknown) with about
    ``positive_rate`` positives, driven by a nonlinear combination of ten of them
    (interactions, thresholds, a U-shape) plus a linear part: boosting can beat logistic
    regression here, and selection must at least match it."""
    if p < 15:
        raise ValueError("wide_rare needs at least 15 features")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    # Skewed, like counts and amounts: one driver and five noise fields.
    X[:, 5] = np.exp(X[:, 5])
    X[:, 10:15] = np.exp(X[:, 10:15])
    signal = (
        0.9 * X[:, 0]
        + 0.7 * X[:, 1]
        + 1.2 * X[:, 2] * X[:, 3]
        + 1.5 * (np.abs(X[:, 4]) > 1.3)
        + 0.9 * np.log1p(X[:, 5])
        - 1.0 * (X[:, 6] > 1.5)
        + 1.0 * X[:, 7] * (X[:, 8] > 0)
        + 0.5 * X[:, 9] ** 2
        + rng.normal(0, 0.5, n)
    )
    # The intercept that gives the wanted rate, by bisection on the mean probability.
    low, high = -20.0, 20.0
    for _ in range(60):
        middle = (low + high) / 2
        if expit(signal + middle).mean() > positive_rate:
            high = middle
        else:
            low = middle
    y = (rng.random(n) < expit(signal + low)).astype(np.int64)
    X[rng.random((n, p)) < 0.03] = np.nan
    specs = [FeatureSpec(f"field_{index}", "number", f"Field {index}") for index in range(p)]
    times = START + np.sort(rng.random(n)) * TWO_YEARS
    return Dataset(specs=specs, X=X, y=y, times=times)
