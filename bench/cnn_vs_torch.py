"""One training epoch of four CNNs in kagglekit and in PyTorch (CPU), side by side, against the GEMM limit.

  lenet   the `lenet` preset's --arch (LeNet-5)
  c32c64  conv32k3p1,pool,conv64k3p1,pool,dense128
  cnn     the `cnn` preset's --arch
  best    the `best` preset's batch-normed --arch
Each net is built from its spec string: kagglekit's by its own builder, PyTorch's twin from the same
parsed spec (each conv and dense followed by ReLU, then any bn, as kagglekit stacks them). Adam (lr
1e-3), batch 128, no augmentation, float32, 41,000 rows of train.csv. kagglekit trains at 1 and at 2
workers (while fast.train.fit takes workers=), PyTorch at 1 and at 2 threads, alternating in one process
with the GEMM limit (each step's products timed at their own shapes with np.matmul at 1 and at 2 BLAS
threads); medians of --repeat rounds. The ratio is kagglekit's better setting over PyTorch's better
one; each contestant's fraction is the 2-thread limit over its epoch. Results merge into
bench/results.json under "cnn".

    python bench/cnn_vs_torch.py [--data ZIP_OR_FOLDER] [--rows 41000] [--repeat 3] [--nets lenet,...] [--quick]
"""
import argparse

import numpy as np

import epochs
from common import DEFAULT_DATA, blas, load_replica, merge_results
from kagglekit.config import TrainConfig, preset

NETS = {"lenet": preset("lenet").arch, "c32c64": "conv32k3p1,pool,conv64k3p1,pool,dense128",
        "cnn": preset("cnn").arch, "best": preset("best").arch}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="digit-recognizer.zip or a folder with train.csv")
    ap.add_argument("--rows", type=int, default=41000, help="training rows per epoch")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of every contestant (medians taken)")
    ap.add_argument("--nets", default=",".join(NETS), help=f"comma-separated, of {', '.join(NETS)}")
    ap.add_argument("--workers", default="1,2", help="kagglekit's worker counts to time")
    ap.add_argument("--threads", default="1,2", help="PyTorch's thread counts to time")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 1,024 rows, 1 round, no results written")
    args = ap.parse_args(argv)
    rows, repeat = (1024, 1) if args.quick else (args.rows, args.repeat)
    unknown = set(args.nets.split(",")) - set(NETS)
    if unknown:
        ap.error(f"unknown nets {sorted(unknown)}; choose from {', '.join(NETS)}")
    try:
        import torch
    except ImportError:
        torch = None
    x, y = load_replica(args.data, rows)
    print(f"NumPy's BLAS: {blas()}")
    x = np.ascontiguousarray(x)
    found = {}
    for name in args.nets.split(","):
        config = TrainConfig(arch=NETS[name], optimizer="adam", lr=1e-3, batch_size=128, epochs=1).check()
        who = epochs.contestants(config, [int(w) for w in args.workers.split(",")],
                                 [int(t) for t in args.threads.split(",")], torch)
        found[name] = epochs.compare(config, x, y, who, repeat, min_seconds=0.02 if args.quick else 0.06)
        epochs.report(name, found[name])
    if not args.quick:
        merge_results({"cnn": {"rows": rows, "blas": blas(), "repeat": repeat, "torch": torch and torch.__version__,
                               "workers_in_fit": epochs.HAS_WORKERS, "models": found}})


if __name__ == "__main__":
    main()
