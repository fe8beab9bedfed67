"""How well predicted labels match the true ones: accuracy, per-class accuracy, the confusion matrix, and
an accuracy estimate with its 95% Wilson interval, which says how far the figure may be from the accuracy
on rows never seen. Labels are int arrays of shape (n_samples,) with values in 0..9."""
import math

import numpy as np

from .data import N_CLASSES
from .errors import DataError

Z95 = 1.96  # the standard normal's 97.5% quantile: a two-sided 95% interval


def accuracy(y_true, y_pred):
    """The fraction of rows predicted right, as a float."""
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def classification_report(y_true, y_pred):
    """Accuracy, per-class accuracy (recall) and the confusion matrix (rows: true, columns: predicted)."""
    confusion = np.zeros((N_CLASSES, N_CLASSES), dtype=np.int64)
    np.add.at(confusion, (y_true, y_pred), 1)
    support = confusion.sum(axis=1)
    per_class = np.divide(np.diag(confusion), support, out=np.full(N_CLASSES, np.nan), where=support > 0)
    return {"accuracy": accuracy(y_true, y_pred), "n": int(len(y_true)),
            "per_class": [None if np.isnan(a) else float(a) for a in per_class],
            "confusion": confusion.tolist()}


def wilson(correct, n, z=Z95):
    """(low, high): the Wilson score interval of a binomial proportion, correct successes out of n > 0.
    Unlike p ± z·sqrt(p(1-p)/n) it stays inside [0, 1] and does not shrink to nothing at p = 0 or 1,
    which is where a digit classifier's accuracy lives."""
    if n <= 0 or not 0 <= correct <= n:
        raise ValueError(f"wilson needs 0 <= correct <= n and n > 0, got correct={correct}, n={n}")
    p, z2 = correct / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)  # rounding may step past 0 or 1 at p = 0 or 1


def estimate(y_true, y_pred, method):
    """{"accuracy", "low", "high", "n", "method"}: the accuracy of y_pred on the n rows of y_true and its
    95% Wilson interval; method says which rows they are, e.g. "holdout" or "out-of-fold". DataError
    for no rows, where there is nothing to estimate."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    n = len(y_true)
    if n == 0:
        raise DataError(f"cannot estimate accuracy on 0 {method} rows; keep some rows out of training to measure on")
    correct = int(np.count_nonzero(y_true == y_pred))
    low, high = wilson(correct, n)
    return {"accuracy": correct / n, "low": low, "high": high, "n": n, "method": method}


def estimate_of(metrics):
    """The estimate a run's metrics.json holds; for a run from before estimates, one worked out from its
    validation accuracy and rows, whose method says that its epoch was chosen on those same rows."""
    if isinstance(metrics.get("estimate"), dict):
        return metrics["estimate"]
    acc, n = metrics["validation"]["accuracy"], metrics["validation"]["n"]
    low, high = wilson(round(acc * n), n)
    return {"accuracy": acc, "low": low, "high": high, "n": n, "method": "holdout, also chosen on (reads high)"}


def format_estimate(est):
    """An estimate as a person reads it, e.g. "0.9934 (95%: 0.9911–0.9951, 2,000 rows)"."""
    rows = "1 row" if est["n"] == 1 else f"{est['n']:,} rows"
    return f"{est['accuracy']:.4f} (95%: {est['low']:.4f}–{est['high']:.4f}, {rows})"
