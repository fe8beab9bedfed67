"""The `mlp` preset's network (784-800-10 ReLU, Adam lr 3e-3, batches of 512) for one training epoch on
the replica's 41,000 rows: kagglekit's fast path against the same network in PyTorch (CPU, at 1 and at 2
threads) and scikit-learn's MLPClassifier (one epoch of adam), alternating the contestants in one
process; medians of --repeat epochs. No augmentation on either side: the epoch is forward, backward and
the update. PyTorch and scikit-learn are the optional `bench` extra; without them their rows are skipped.

    python bench/mlp_vs_torch.py [--data ZIP_OR_FOLDER] [--repeat 5] [--rows N]
"""
import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from common import DEFAULT_DATA, load_replica, merge_results
from kagglekit.config import preset
from kagglekit.fast.train import fit
from kagglekit.nn.network import build_network

CONFIG = preset("mlp").override(epochs=1, augment_shift=0, lr_decay=1.0)


def kagglekit_epoch(x, y, seed):
    rng = np.random.default_rng(seed)
    net = build_network(CONFIG, rng)
    start = time.perf_counter()
    fit(net, x, y, CONFIG, rng)
    return time.perf_counter() - start


def torch_epoch(x, y, seed, threads):
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(784, 800), torch.nn.ReLU(), torch.nn.Linear(800, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=CONFIG.lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    start = time.perf_counter()
    for idx in torch.randperm(len(x)).split(CONFIG.batch_size):
        optimizer.zero_grad()
        loss_fn(model(xt[idx]), yt[idx]).backward()
        optimizer.step()
    return time.perf_counter() - start


def sklearn_epoch(x, y, seed):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    model = MLPClassifier(hidden_layer_sizes=(800,), solver="adam", learning_rate_init=CONFIG.lr,
                          batch_size=CONFIG.batch_size, max_iter=1, shuffle=True, random_state=seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # one epoch is all we ask of it
        model.fit(x, y)
    return time.perf_counter() - start


def contestants():
    found = {"kagglekit": kagglekit_epoch}
    try:
        import torch  # noqa: F401
        found["pytorch 1 thread"] = lambda x, y, s: torch_epoch(x, y, s, 1)
        found["pytorch 2 threads"] = lambda x, y, s: torch_epoch(x, y, s, 2)
    except ImportError:
        print("PyTorch not installed: skipped (pip install 'kagglekit[bench]')")
    try:
        import sklearn  # noqa: F401
        found["scikit-learn"] = sklearn_epoch
    except ImportError:
        print("scikit-learn not installed: skipped (pip install 'kagglekit[bench]')")
    return found


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="digit-recognizer.zip or a folder with train.csv")
    ap.add_argument("--repeat", type=int, default=5, help="epochs per contestant (medians are reported)")
    ap.add_argument("--rows", type=int, default=41000, help="training rows (the mlp preset trains on 41,000)")
    args = ap.parse_args(argv)
    x, y = load_replica(args.data, args.rows)
    who = contestants()
    times = {name: [] for name in who}
    names = list(who)
    for r in range(args.repeat):
        for name in names[r % len(names):] + names[:r % len(names)]:  # rotate who goes first
            times[name].append(who[name](x, y, r))
        print(f"round {r + 1}: " + ", ".join(f"{n} {times[n][-1]:.2f} s" for n in names), flush=True)
    medians = {name: statistics.median(t) for name, t in times.items()}
    ours = medians["kagglekit"]
    print(f"\nmedian s/epoch over {args.repeat} ({len(x)} rows, batch {CONFIG.batch_size}):")
    for name, m in medians.items():
        print(f"  {name:<18} {m:6.2f} s   kagglekit / {name} = {ours / m:.2f}")
    torch_best = min((m for n, m in medians.items() if n.startswith("pytorch")), default=None)
    if torch_best is not None:
        print(f"kagglekit / PyTorch at its best thread setting: {ours / torch_best:.2f} (target <= 1.0)")
    merge_results({"mlp_epoch": {"rows": len(x), "seconds": medians,
                                 "ratio_vs_pytorch_best": torch_best and ours / torch_best}})


if __name__ == "__main__":
    sys.exit(main())
