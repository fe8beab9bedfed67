"""How well predicted labels match the true ones: accuracy, per-class accuracy and the confusion matrix.
Labels are int arrays of shape (n_samples,) with values in 0..9."""
import numpy as np

from .data import N_CLASSES


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
