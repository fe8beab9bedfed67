"""Wall time of training an ensemble's members one at a time (-j 1) and two at a time (-j 2), and of
5-fold cross-validation both ways: the speed-up the joblib layer gives on this machine. Each member and
fold is a process with one BLAS thread; the models are the same either way (tests/test_ensemble.py).

    python bench/ensemble_jobs.py [--data ZIP_OR_FOLDER] [--members 4] [--preset mlp] [--epochs 3]
"""
import argparse
import tempfile
import time
from pathlib import Path

from common import DEFAULT_DATA, materialise
from kagglekit import ensemble, evaluation
from kagglekit.data import load_train
from kagglekit.config import preset


def seconds(work):
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the replica's zip or unpacked folder")
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--preset", default="mlp")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    config = preset(args.preset).override(epochs=args.epochs, members=args.members)
    with tempfile.TemporaryDirectory(prefix="kk-bench-") as tmp:
        data, runs = Path(tmp) / "data", Path(tmp) / "runs"
        data.mkdir()
        materialise(args.data, data)
        load_train(data / "train.csv")  # the cache, outside the timings
        for what, work in [
            (f"{args.members} members", lambda jobs: ensemble.train_ensemble(
                data, config, f"j{jobs}", runs=runs, jobs=jobs)),
            (f"{args.folds}-fold", lambda jobs: evaluation.cross_validate(
                data, config.member(0), args.folds, jobs=jobs)),
        ]:
            one, two = seconds(lambda: work(1)), seconds(lambda: work(2))
            print(f"{args.preset} ×{args.epochs} epochs, {what}: -j 1 {one:.1f} s, -j 2 {two:.1f} s, "
                  f"speed-up {one / two:.2f}×", flush=True)


if __name__ == "__main__":
    main()
