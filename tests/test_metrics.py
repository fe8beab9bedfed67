"""Accuracy and the classification report, on labels small enough to count by hand."""
import numpy as np
import pytest

from kagglekit.errors import DataError
from kagglekit.metrics import accuracy, classification_report, estimate, format_estimate, wilson


def test_report_counts_by_hand():
    y_true = np.array([0, 0, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 0])
    report = classification_report(y_true, y_pred)
    assert report["accuracy"] == accuracy(y_true, y_pred) == 0.6 and report["n"] == 5
    assert report["per_class"][:3] == [0.5, 1.0, 0.0]
    assert report["per_class"][3:] == [None] * 7  # no true 3..9: no accuracy, not 0
    assert report["confusion"][0][:3] == [1, 1, 0] and report["confusion"][2][:3] == [1, 0, 0]
    assert np.sum(report["confusion"]) == 5


# Wilson's interval, worked by hand with z = 2 so that the arithmetic is exact enough to follow:
#   p = c/n, centre = (p + z²/2n) / (1 + z²/n), half = z·sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n).
# 8 of 10: 1 + 4/10 = 1.4; centre = (0.8 + 0.2)/1.4 = 5/7 = 0.714286;
#          half = 2·sqrt(0.016 + 0.01)/1.4 = 2·0.161245/1.4 = 0.230350  ->  (0.483936, 0.944636).
# 0 of 10: centre = 0.2/1.4 = 1/7, half = 2·sqrt(0.01)/1.4 = 1/7    ->  (0, 2/7): not the empty (0, 0).
# 10 of 10: by symmetry (5/7, 1).
@pytest.mark.parametrize("correct, n, low, high", [(8, 10, 0.483936, 0.944636), (0, 10, 0.0, 2 / 7),
                                                   (10, 10, 5 / 7, 1.0)])
def test_wilson_matches_the_hand_worked_interval(correct, n, low, high):
    got = wilson(correct, n, z=2)
    assert got == pytest.approx((low, high), abs=1e-6)
    assert 0.0 <= got[0] <= got[1] <= 1.0


def test_wilson_at_the_ends_is_exactly_0_and_1_and_narrows_with_more_rows():
    assert wilson(0, 2000)[0] == 0.0 and wilson(2000, 2000)[1] == 1.0  # not -1e-17 or 1.0000000000000002
    # The issue's arithmetic: at p ≈ 0.993, 2,000 rows give about ±0.0037, 42,000 about ±0.0008.
    low, high = wilson(1986, 2000)
    assert 0.0070 < high - low < 0.0078
    low, high = wilson(41706, 42000)
    assert 0.0015 < high - low < 0.0017


@pytest.mark.parametrize("correct, n", [(0, 0), (3, 2), (-1, 5)])
def test_wilson_refuses_what_is_no_proportion(correct, n):
    with pytest.raises(ValueError, match="wilson needs"):
        wilson(correct, n)


def test_estimate_counts_the_rows_and_formats_as_the_issue_writes_it():
    y_true = np.arange(10) % 10
    y_pred = y_true.copy()
    y_pred[:2] = 9  # 8 of 10 right
    est = estimate(y_true, y_pred, "holdout")
    low, high = wilson(8, 10)
    assert est == {"accuracy": 0.8, "low": low, "high": high, "n": 10, "method": "holdout"}
    assert format_estimate({"accuracy": 0.9934, "low": 0.9911, "high": 0.9951, "n": 2000, "method": "holdout"}) \
        == "0.9934 (95%: 0.9911–0.9951, 2,000 rows)"
    assert format_estimate(estimate([3], [3], "holdout")) == "1.0000 (95%: 0.2065–1.0000, 1 row)"


def test_estimate_of_no_rows_is_refused_in_one_line():
    with pytest.raises(DataError, match="cannot estimate accuracy on 0 out-of-fold rows"):
        estimate([], [], "out-of-fold")
