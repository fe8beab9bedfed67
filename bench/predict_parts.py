"""Prediction as `run --preset best` makes it: 4 of best's networks (random weights: the time is the
same) × 5 TTA views of the replica's first train.csv rows, by recipe.tta_proba in 1 and 2 parts, against the
code before parts (one process, the BLAS at its own thread count), alternating, median of 3.

    python bench/predict_parts.py [--rows 4000] [--members 4] [--tta 5]
"""
import argparse
import statistics
import time

import numpy as np

from common import DEFAULT_DATA, blas, load_replica
from kagglekit.config import preset
from kagglekit.nn.augment import TTA_SHIFTS, shift
from kagglekit.nn.network import build_network
from kagglekit.recipe import average_proba, tta_proba


def before_parts(nets, x, n):
    """tta_proba as it was before fast/predict.py: all rows in the caller, the BLAS's own threads."""
    return np.mean([average_proba(nets, x if (dy, dx) == (0, 0) else shift(x, dy, dx))
                    for dy, dx in TTA_SHIFTS[:n]], axis=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--tta", type=int, default=5)
    parser.add_argument("--data", default=DEFAULT_DATA)
    args = parser.parse_args()
    x, _ = load_replica(args.data, args.rows)
    rng = np.random.default_rng(0)
    nets = [build_network(preset("best"), rng) for _ in range(args.members)]
    print(f"NumPy's BLAS: {blas()}")
    contestants = {"before parts": lambda: before_parts(nets, x, args.tta),
                   "1 part": lambda: tta_proba(nets, x, args.tta, 1),
                   "2 parts": lambda: tta_proba(nets, x, args.tta, 2)}
    times, labels = {k: [] for k in contestants}, {}
    for _ in range(3):
        for name, run in contestants.items():
            start = time.perf_counter()
            labels[name] = run().argmax(axis=1)
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["before parts"])
    for name, t in times.items():
        same = np.mean(labels[name] == labels["before parts"])
        print(f"{name:13s} {statistics.median(t):6.2f} s  {statistics.median(t) / base:.2f}x  "
              f"labels as before: {same:.4f}")


if __name__ == "__main__":
    main()
