"""Accuracy and the classification report, on labels small enough to count by hand."""
import numpy as np

from kagglekit.metrics import accuracy, classification_report


def test_report_counts_by_hand():
    y_true = np.array([0, 0, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 0])
    report = classification_report(y_true, y_pred)
    assert report["accuracy"] == accuracy(y_true, y_pred) == 0.6 and report["n"] == 5
    assert report["per_class"][:3] == [0.5, 1.0, 0.0]
    assert report["per_class"][3:] == [None] * 7  # no true 3..9: no accuracy, not 0
    assert report["confusion"][0][:3] == [1, 1, 0] and report["confusion"][2][:3] == [1, 0, 0]
    assert np.sum(report["confusion"]) == 5
