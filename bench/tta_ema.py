"""What the moving average of the weights (--ema) and test-time augmentation (tta) do to a preset's
accuracy on rows that neither training nor the choice of the best epoch saw.

The first --train rows of the replica's train.csv train the preset (the recipe holds out its val_size of
them to choose the best epoch); the next --measure rows only measure. Each --ema value trains one run
per seed; each run is measured with each --tta value. Accuracies carry their 95% Wilson interval; the
last columns count the measured rows that a setting gets right and the baseline (first ema, tta 1, same
seed) wrong, and the other way round: where the intervals overlap, those say whether it is noise.

    python bench/tta_ema.py [--data ZIP_OR_FOLDER] [--preset lenet] [--epochs N] [--ema 0,0.999] [--tta 1,5,9]
"""
import argparse
import time

import numpy as np

from common import DEFAULT_DATA, load_replica, merge_results
from kagglekit.config import preset
from kagglekit.metrics import estimate, format_estimate
from kagglekit.recipe import train_model, tta_proba


def numbers(text, kind):
    return [kind(v) for v in text.split(",")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--preset", default="lenet")
    parser.add_argument("--epochs", type=int, default=None, help="default: the preset's")
    parser.add_argument("--train", type=int, default=10000)
    parser.add_argument("--measure", type=int, default=5000)
    parser.add_argument("--ema", default="0,0.999")
    parser.add_argument("--tta", default="1,5,9")
    parser.add_argument("--seeds", default="0")
    args = parser.parse_args()
    x, y = load_replica(args.data, args.train + args.measure)
    x_train, y_train = x[:args.train], y[:args.train]
    x_test, y_test = x[args.train:], y[args.train:]
    base = preset(args.preset).override(epochs=args.epochs)
    print(f"{args.preset} ({base.epochs} epochs) on {args.train:,} rows ({base.val_size:,} of them choose the best "
          f"epoch), measured on the next {len(y_test):,} rows of train.csv\n")
    rows, baseline, entry = [], {}, {}
    for seed in numbers(args.seeds, int):
        for ema in numbers(args.ema, float):
            config = base.override(ema=ema, seed=seed)
            start = time.perf_counter()
            net, history, _ = train_model(x_train, y_train, config)
            seconds = time.perf_counter() - start
            for tta in numbers(args.tta, int):
                start = time.perf_counter()
                predicted = tta_proba([net], x_test, tta).argmax(axis=1)
                predict = time.perf_counter() - start
                est, right = estimate(y_test, predicted, "held-out"), predicted == y_test
                first = baseline.setdefault(seed, right)
                rows.append([seed, f"{ema:g}", tta, f"{history.best['val_acc']:.4f} (ep {history.best_epoch})",
                             format_estimate(est), int(np.sum(right & ~first)), int(np.sum(first & ~right)),
                             f"{seconds:.0f}", f"{predict:.1f}"])
                entry[f"seed{seed}/ema{ema:g}/tta{tta}"] = {**est, "val_acc": history.best["val_acc"],
                                                            "train_seconds": seconds, "predict_seconds": predict}
    headers = ["seed", "ema", "tta", "val (selection rows)", "held-out accuracy", "+right", "+wrong",
               "train s", "predict s"]
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows)]
    for row in [headers, ["-" * w for w in widths], *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    merge_results({f"tta_ema/{args.preset}": entry})


if __name__ == "__main__":
    main()
