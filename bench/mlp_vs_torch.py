"""One training epoch of the `mlp` preset's network (784-800-10 ReLU, Adam lr 3e-3, batches of 512) on the
replica's 41,000 rows, side by side, against the GEMM limit: kagglekit's fast path at 1 and at 2 workers
(while fast.train.fit takes workers=), its PyTorch twin built from the same spec at 1 and at 2 threads,
and scikit-learn's MLPClassifier (one epoch of adam), alternating in one process with the GEMM limit
(each step's products timed at their own shapes with np.matmul at 1 and at 2 BLAS threads); medians of
--repeat rounds. No augmentation: the epoch is forward, backward and the update. The ratio is
kagglekit's better setting over PyTorch's better one. PyTorch and scikit-learn are the optional `bench`
extra; without them their rows are skipped. Results merge into bench/results.json under "mlp_epoch".

    python bench/mlp_vs_torch.py [--data ZIP_OR_FOLDER] [--repeat 3] [--rows 41000] [--quick]
"""
import argparse
import time
import warnings

import numpy as np

import epochs
from common import DEFAULT_DATA, blas, load_replica, merge_results
from kagglekit.config import preset

CONFIG = preset("mlp").override(epochs=1, augment_shift=0, lr_decay=1.0)


def sklearn_epoch(x, y):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    model = MLPClassifier(hidden_layer_sizes=CONFIG.hidden, solver="adam", learning_rate_init=CONFIG.lr,
                          batch_size=CONFIG.batch_size, max_iter=1, shuffle=True, random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # one epoch is all we ask of it
        model.fit(x, y)
    return time.perf_counter() - start


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="digit-recognizer.zip or a folder with train.csv")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of every contestant (medians taken)")
    ap.add_argument("--rows", type=int, default=41000, help="training rows (the mlp preset trains on 41,000)")
    ap.add_argument("--workers", default="1,2", help="kagglekit's worker counts to time")
    ap.add_argument("--threads", default="1,2", help="PyTorch's thread counts to time")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 2,048 rows, 1 round, no results written")
    args = ap.parse_args(argv)
    rows, repeat = (2048, 1) if args.quick else (args.rows, args.repeat)
    try:
        import torch
    except ImportError:
        torch = None
    try:
        import sklearn  # noqa: F401
        extra = {"scikit-learn": sklearn_epoch}
    except ImportError:
        extra = {}
        print("scikit-learn is not installed (pip install 'kagglekit[bench]'): skipped")
    x, y = load_replica(args.data, rows)
    print(f"NumPy's BLAS: {blas()}")
    x = np.ascontiguousarray(x)
    who = epochs.contestants(CONFIG, [int(w) for w in args.workers.split(",")],
                             [int(t) for t in args.threads.split(",")], torch, extra)
    result = epochs.compare(CONFIG, x, y, who, repeat, min_seconds=0.02 if args.quick else 0.06)
    epochs.report("mlp", result)
    if not args.quick:
        merge_results({"mlp_epoch": {**result, "blas": blas(), "torch": torch and torch.__version__,
                                     "workers_in_fit": epochs.HAS_WORKERS}})


if __name__ == "__main__":
    main()
