"""One training epoch of two small CNNs in kagglekit and in PyTorch (CPU), side by side.

(a) lenet:  conv6 5x5 pad 2 - relu - pool - conv16 5x5 - relu - pool - dense120 - relu - dense84 - relu - dense10
(b) c32c64: conv32 3x3 - relu - pool - conv64 3x3 - relu - pool - dense128 - relu - dense10
(c) bn:     the --arch conv32k3p1,bn,conv32k3p1,bn,pool,conv64k3p1,bn,conv64k3p1,bn,pool,dense256,dropout0.4
            (each conv - relu - batch norm, as kagglekit builds it), dense10
Adam (lr 1e-3), batch 128, no augmentation, float32, 41,000 rows of train.csv. Each contestant runs at 1
and at 2 threads, alternating in one process (a shared machine's noise hits all alike), median of the
repeats; the ratio compares each one's best thread setting. GFLOP/s counts the products' arithmetic
(forward, weight and input gradients) against a same-run float32 np.matmul of the largest GEMM shape.
Results merge into bench/results.json under "cnn". Run with a Python that has torch (else it skips it):

    python bench/cnn_vs_torch.py [--data train.csv] [--rows 41000] [--repeat 3] [--quick]
"""
import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from common import DEFAULT_DATA, load_replica
from kagglekit.config import TrainConfig
from kagglekit.fast import train as fast_train
from kagglekit.fast.blas import blas_threads
from kagglekit.nn.conv import Conv2D
from kagglekit.nn.layers import Dense, Dropout, ReLU
from kagglekit.nn.network import Network
from kagglekit.nn.norm import BatchNorm
from kagglekit.nn.pool import MaxPool2D
from kagglekit.nn.shape import Flatten, Reshape

HERE = Path(__file__).resolve().parent
# (kind, args): conv (in, out, k, pad), pool, flatten, dense (in, out), relu
ARCHS = {
    "lenet": [("conv", 1, 6, 5, 2), ("relu",), ("pool",), ("conv", 6, 16, 5, 0), ("relu",), ("pool",), ("flatten",),
              ("dense", 400, 120), ("relu",), ("dense", 120, 84), ("relu",), ("dense", 84, 10)],
    "c32c64": [("conv", 1, 32, 3, 0), ("relu",), ("pool",), ("conv", 32, 64, 3, 0), ("relu",), ("pool",),
               ("flatten",), ("dense", 1600, 128), ("relu",), ("dense", 128, 10)],
    "bn": [("conv", 1, 32, 3, 1), ("relu",), ("bn", 32), ("conv", 32, 32, 3, 1), ("relu",), ("bn", 32), ("pool",),
           ("conv", 32, 64, 3, 1), ("relu",), ("bn", 64), ("conv", 64, 64, 3, 1), ("relu",), ("bn", 64), ("pool",),
           ("flatten",), ("dense", 3136, 256), ("relu",), ("dropout", 0.4), ("dense", 256, 10)],
}


def kagglekit_net(arch, rng):
    make = {"conv": lambda i, o, k, p: Conv2D(i, o, k, padding=p, rng=rng), "relu": ReLU, "pool": MaxPool2D,
            "flatten": Flatten, "dense": lambda i, o: Dense(i, o, rng=rng), "bn": BatchNorm,
            "dropout": lambda rate: Dropout(rate, rng)}
    return Network([Reshape([1, 28, 28])] + [make[kind](*args) for kind, *args in ARCHS[arch]])


def torch_net(arch, torch):
    nn = torch.nn
    make = {"conv": lambda i, o, k, p: nn.Conv2d(i, o, k, padding=p), "relu": nn.ReLU,
            "pool": lambda: nn.MaxPool2d(2), "flatten": nn.Flatten, "dense": nn.Linear, "bn": nn.BatchNorm2d,
            "dropout": nn.Dropout}
    return nn.Sequential(*[make[kind](*args) for kind, *args in ARCHS[arch]])


def gemms(arch, batch=128):
    """(m, k, n) of every product of one training step, and the epoch's flop per row."""
    shapes, c, side, first = [], 1, 28, True
    for kind, *args in ARCHS[arch]:
        if kind == "conv":
            i, o, k, p = args
            side = side + 2 * p - k + 1
            fwd = (o, i * k * k, batch * side * side)
            shapes += [fwd, (o, fwd[2], i * k * k)] + ([] if first else [(i * k * k, o, fwd[2])])
            c, first = o, False
        elif kind == "pool":
            side //= 2
        elif kind == "dense":
            i, o = args
            shapes += [(batch, i, o), (i, batch, o), (batch, o, i)]
    return shapes, sum(2 * m * k * n for m, k, n in shapes) / batch


def kagglekit_epoch(arch, x, y, threads):
    net = kagglekit_net(arch, np.random.default_rng(0))
    config = TrainConfig(hidden=(1,), epochs=1, batch_size=128, optimizer="adam", lr=1e-3)
    fast_train.THREADS = threads  # what fast.train.fit sets the BLAS to while it trains
    start = time.perf_counter()
    fast_train.fit(net, x, y, config, np.random.default_rng(1))
    return time.perf_counter() - start


def torch_epoch(arch, x, y, threads, torch):
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    model, xt, yt = torch_net(arch, torch), torch.from_numpy(x.reshape(-1, 1, 28, 28)), torch.from_numpy(y)
    optimizer, loss_fn = torch.optim.Adam(model.parameters(), lr=1e-3), torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    for idx in torch.randperm(len(x)).split(128):
        optimizer.zero_grad()
        loss_fn(model(xt[idx]), yt[idx]).backward()
        optimizer.step()
    elapsed = time.perf_counter() - start
    torch.set_num_threads(1)  # its idle pool must not compete with the next contestant
    return elapsed


def matmul_gflops(m, k, n, threads, repeat=20):
    a, b = np.ones((m, k), np.float32), np.ones((k, n), np.float32)
    with blas_threads(threads):
        np.matmul(a, b)
        start = time.perf_counter()
        for _ in range(repeat):
            np.matmul(a, b)
        return 2 * m * k * n * repeat / (time.perf_counter() - start) / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="digit-recognizer.zip or a folder with train.csv")
    ap.add_argument("--rows", type=int, default=41000, help="training rows per epoch")
    ap.add_argument("--repeat", type=int, default=3, help="epochs per contestant (median taken)")
    ap.add_argument("--models", default="lenet,c32c64,bn", help="comma-separated: lenet, c32c64, bn")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts to time")
    ap.add_argument("--quick", action="store_true", help="4,096 rows, for a smoke run")
    args = ap.parse_args()
    rows = 4096 if args.quick else args.rows
    try:
        import torch
    except ImportError:
        torch = None
        print("PyTorch is not installed in this Python: timing kagglekit only")
    x, y = load_replica(args.data, rows)
    x = np.ascontiguousarray(x)
    report = {"rows": rows, "repeat": args.repeat, "torch": torch and torch.__version__, "models": {}}
    for arch in args.models.split(","):
        counts = [int(t) for t in args.threads.split(",")]
        runs = [("kagglekit", t) for t in counts] + ([("torch", t) for t in counts] if torch else [])
        times = {run: [] for run in runs}
        for r in range(args.repeat):
            for who, threads in (runs if r % 2 == 0 else runs[::-1]):  # alternate who goes first
                seconds = (kagglekit_epoch(arch, x, y, threads) if who == "kagglekit"
                           else torch_epoch(arch, x, y, threads, torch))
                times[who, threads].append(seconds)
                print(f"  {arch} {who} {threads} thread(s): {seconds:.2f} s", flush=True)
        shapes, flop_per_row = gemms(arch)
        biggest = max(shapes, key=lambda s: s[0] * s[1] * s[2])
        result = {"rows": rows, "gflop_per_epoch": flop_per_row * rows / 1e9, "largest_gemm": biggest}
        for (who, threads), ts in times.items():
            result[f"{who}_{threads}t_s"] = statistics.median(ts)
        for who in ("kagglekit", "torch") if torch else ("kagglekit",):
            best = min(counts, key=lambda t: result[f"{who}_{t}t_s"])
            result[f"{who}_best"] = {"threads": best, "s": result[f"{who}_{best}t_s"],
                                     "gflops": result["gflop_per_epoch"] / result[f"{who}_{best}t_s"]}
        result["matmul_gflops"] = {t: matmul_gflops(*biggest, t) for t in (1, 2)}
        if torch:
            result["ratio"] = result["kagglekit_best"]["s"] / result["torch_best"]["s"]
        report["models"][arch] = result
        print(f"{arch}: {result['gflop_per_epoch']:.1f} GFLOP/epoch; largest GEMM {biggest} at "
              f"{result['matmul_gflops'][1]:.0f} GFLOP/s (1 thread), {result['matmul_gflops'][2]:.0f} (2)")
        for who in ("kagglekit", "torch") if torch else ("kagglekit",):
            best = result[f"{who}_best"]
            each = "  ".join(f"{t}t {result[f'{who}_{t}t_s']:6.2f} s" for t in counts)
            print(f"  {who:9s} {each}  best {best['s']:.2f} s ({best['threads']}t, {best['gflops']:.1f} GFLOP/s)")
        if torch:
            print(f"  ratio kagglekit/PyTorch (best vs best): {result['ratio']:.2f}")
    path = HERE / "results.json"
    merged = json.loads(path.read_text()) if path.exists() else {}
    merged.setdefault("cnn", {}).update({k: v for k, v in report.items() if k != "models"})
    merged["cnn"].setdefault("models", {}).update(report["models"])  # a run of one model keeps the other
    path.write_text(json.dumps(merged, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
