"""One net's epoch, kagglekit at W workers against PyTorch at T threads, each epoch in a fresh Python
process, alternating, for N rounds; medians and their ratio. PyTorch's `best` epoch is bimodal on the
development machine (15 s or 21 s at 2 threads, in one process or across fresh ones), so its rounds are
printed one by one, and the ratio is also given against its fast rounds (those within 10% of its
fastest). Fresh processes keep one contestant's memory from shaping the other's.

    python bench/fresh_epochs.py [--net best] [--rounds 3] [--workers 2] [--threads 2] [--rows 41000]
"""
import argparse
import statistics
import subprocess
import sys

from cnn_vs_torch import NETS
from common import BENCH, DEFAULT_DATA

CHILD = """
import sys
sys.path.insert(0, {bench!r})
import numpy as np
import epochs
from common import blas, load_replica
from kagglekit.config import TrainConfig
x, y = load_replica({data!r}, {rows})
config = TrainConfig(arch={arch!r}, optimizer="adam", lr=1e-3, batch_size=128, epochs=1).check()
if {who!r} == "kagglekit":
    print(epochs.kagglekit_epoch(config, np.ascontiguousarray(x), y, {n}), blas(), sep="\\t")
else:
    import torch
    print(epochs.torch_epoch(config, np.ascontiguousarray(x), y, {n}, torch), torch.__version__, sep="\\t")
"""


def epoch(who, n, args):
    """(seconds, what ran it) of one epoch in a fresh process."""
    code = CHILD.format(bench=str(BENCH), data=args.data, rows=args.rows, arch=NETS[args.net], who=who, n=n)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{who} failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
    seconds, what = done.stdout.strip().splitlines()[-1].split("\t")
    return float(seconds), what


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--net", default="best", choices=sorted(NETS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2, help="kagglekit's workers (-t)")
    ap.add_argument("--threads", type=int, default=2, help="PyTorch's threads")
    ap.add_argument("--rows", type=int, default=41000)
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="digit-recognizer.zip or a folder with train.csv")
    args = ap.parse_args(argv)
    ours, theirs = [], []
    for r in range(args.rounds):
        (k, blas), (t, version) = epoch("kagglekit", args.workers, args), epoch("pytorch", args.threads, args)
        ours.append(k)
        theirs.append(t)
        print(f"round {r + 1}: kagglekit W={args.workers} {k:.2f} s, PyTorch {version} {args.threads}t {t:.2f} s "
              f"(NumPy's BLAS: {blas})", flush=True)
    fast = [t for t in theirs if t <= 1.1 * min(theirs)]
    print(f"{args.net}: kagglekit {statistics.median(ours):.2f} s, PyTorch {statistics.median(theirs):.2f} s "
          f"(its fast rounds {statistics.median(fast):.2f} s, {len(fast)} of {len(theirs)}); ratio "
          f"{statistics.median(ours) / statistics.median(theirs):.2f}, against its fast rounds "
          f"{statistics.median(ours) / statistics.median(fast):.2f}")


if __name__ == "__main__":
    main()
