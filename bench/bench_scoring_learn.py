"""Learned conversion probability: training time, cross-validated AUC and top-20 % capture on
the generated sets, and scoring (probability + factors) of 1,000,000 contacts in batches.

Pure machine learning (leadflow.scoring.learn; no database). Sets from
leadflow.scoring.learn.synthetic: ``history`` (history_with_drivers: a few known drivers
among noise, about 9 % converted) and ``wide`` (wide_rare: 100 numeric features, 5 %
converted, a nonlinear truth), BENCH_LEARN_ROWS rows each (50,000 by default). Same-run
baselines: the frequency model alone (what Odoo does: quality and training time) and a plain
logistic regression (C=1, scaling) on the same cross-validation folds. Scoring: the history
set's trained model on BENCH_LEARN_SCORE_ROWS rows (1,000,000 by default) in batches of
100,000, probability and 3-5 factors per row, against the frequency model's prediction
of the same rows (baseline); issue 13's target is < 60 s for 1,000,000 contacts. Also the
time to explain 100,000 rows of the wide set (its 30 strongest of 100 groups: 31 model
calls a row). Training
and scoring use one compute thread (the default; see families.compute_threads).
"""

import os
import time

import numpy as np


def _plain_logistic_auc(dataset) -> float:
    from sklearn.metrics import roc_auc_score

    from leadflow.scoring.learn.evaluate import cv_folds
    from leadflow.scoring.learn.families import compute_threads, plain_logistic

    scores = []
    with compute_threads(1):
        for train, test in cv_folds(dataset.y).split(dataset.X, dataset.y):
            model = plain_logistic().fit(dataset.X[train], dataset.y[train])
            scores.append(roc_auc_score(dataset.y[test], model.decision_function(dataset.X[test])))
    return float(np.mean(scores))


def _quality(name: str, dataset) -> tuple[dict, object]:
    from leadflow.scoring.learn.select import model_fit

    started = time.perf_counter()
    result = model_fit(dataset)
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    floor = model_fit(dataset, families=["frequency"])
    floor_s = time.perf_counter() - started
    chosen, frequency = result.metrics["cv"], floor.metrics["cv"]
    plain = _plain_logistic_auc(dataset)
    holdout = result.metrics["holdout"] or {}
    figures = {
        f"{name}_rows": dataset.rows,
        f"{name}_positives": dataset.positives,
        f"{name}_family": result.family,
        f"{name}_candidates_cv_auc": {
            family: round(values["cv_auc"], 4) for family, values in result.candidates.items()
        },
        f"{name}_cv_auc": round(chosen["roc_auc"], 4),
        f"{name}_cv_auc_frequency": round(frequency["roc_auc"], 4),
        f"{name}_cv_auc_plain_logistic": round(plain, 4),
        f"{name}_auc_vs_frequency": round(chosen["roc_auc"] / frequency["roc_auc"], 3),
        f"{name}_auc_vs_plain_logistic": round(chosen["roc_auc"] / plain, 3),
        f"{name}_top20_capture": round(chosen["top20_capture"], 4),
        f"{name}_top20_capture_frequency": round(frequency["top20_capture"], 4),
        f"{name}_capture_vs_frequency": round(
            chosen["top20_capture"] / frequency["top20_capture"], 3
        ),
        f"{name}_brier_vs_base_rate": round(chosen["brier"] / chosen["base_rate_brier"], 3),
        f"{name}_holdout_auc": round(holdout.get("roc_auc", float("nan")), 4),
        f"{name}_train_s": round(train_s, 1),
        f"{name}_train_frequency_s": round(floor_s, 1),
        f"{name}_train_vs_frequency": round(train_s / floor_s, 1),
    }
    return figures, (result.model, floor.model)


def _scoring(model, floor, rows: int) -> dict:
    from leadflow.scoring.learn.synthetic import history_with_drivers

    contacts, _ = history_with_drivers(rows, seed=99)
    X = contacts.X
    batch = 100_000
    started = time.perf_counter()
    for start in range(0, rows, batch):
        floor.predict_proba(X[start : start + batch])
    baseline_s = time.perf_counter() - started
    started = time.perf_counter()
    for start in range(0, rows, batch):
        model.predict_proba(X[start : start + batch])
    predict_s = time.perf_counter() - started
    started = time.perf_counter()
    factors = 0
    for start in range(0, rows, batch):
        part = X[start : start + batch]
        model.predict_proba(part)
        factors += sum(len(row) for row in model.explain(part))
    score_s = time.perf_counter() - started
    return {
        "score_rows": rows,
        "score_family": model.family,
        "predict_s": round(predict_s, 1),
        "predict_rows_per_s": round(rows / predict_s),
        "score_with_factors_s": round(score_s, 1),
        "score_with_factors_rows_per_s": round(rows / score_s),
        "factors_per_row": round(factors / rows, 2),
        "frequency_predict_s": round(baseline_s, 2),
        "score_with_factors_vs_frequency_predict": round(score_s / baseline_s, 1),
        "score_target_met": score_s < 60,
    }


def run() -> dict:
    from leadflow.scoring.learn.synthetic import history_with_drivers, wide_rare

    rows = int(os.environ.get("BENCH_LEARN_ROWS", "50000"))
    score_rows = int(os.environ.get("BENCH_LEARN_SCORE_ROWS", "1000000"))
    history, _ = history_with_drivers(rows, seed=7)
    figures, (model, floor) = _quality("history", history)
    wide, (wide_model, _) = _quality("wide", wide_rare(rows, p=100, positive_rate=0.05, seed=7))
    figures.update(wide)
    figures.update(_scoring(model, floor, score_rows))
    # Explaining costs 1 + groups model calls per row: the wide set's 30 strongest groups.
    explained = wide_rare(100_000, p=100, positive_rate=0.05, seed=98).X
    started = time.perf_counter()
    wide_model.explain(explained)
    figures["wide_explain_family"] = wide_model.family
    figures["wide_explain_groups"] = len(wide_model.explained_groups())
    figures["wide_explain_100k_rows_s"] = round(time.perf_counter() - started, 1)
    return figures
