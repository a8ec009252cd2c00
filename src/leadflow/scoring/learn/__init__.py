"""Learning a workspace's conversion probability: pure machine learning, no Django.

numpy and scikit-learn only, on a :class:`~leadflow.scoring.learn.dataset.Dataset` (one row
per labelled contact, one column per feature). The training service builds the dataset from
the database and stores what comes back; nothing here touches the database, and nothing that
a web request imports may import this package (scikit-learn is imported at module level here).

- ``dataset``: :class:`FeatureSpec` (what a column is, in a salesperson's words) and
  :class:`Dataset`.
- ``families``: the candidate model families (logistic regression, histogram gradient
  boosting, the smoothed frequency model) and their calibrated form.
- ``select``: :func:`model_fit`, choosing a family by cross-validated ROC AUC.
- ``evaluate``: :func:`evaluate` (cross-validation, the hold-out by time, calibration bins)
  and the metric definitions.
- ``explain``: :class:`TrainedModel` (what is stored) with its per-lead factors.
- ``synthetic``: generated histories with known drivers, for tests and the benchmark.
"""
