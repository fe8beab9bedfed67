"""The seed notebook's algorithm as written against the `seed` preset, side by side, then the `mlp` preset.

The notebook part is Samson Zhang's "Simple MNIST NN from scratch (numpy, no TF/Keras)" as published:
pandas default read, float64, X transposed to (784, m), np.random.shuffle and a 1,000-row dev split,
uniform init, its forward_prop / backward_prop / update_params with their defects (softmax without
max-subtraction, scalar bias gradients, m taken from the whole file), alpha 0.1, 500 iterations. Only
its debug prints are dropped, and the global RNG is seeded so that repeats can be compared.

    python bench/seed_vs_notebook.py [--data ZIP_OR_FOLDER] [--repeat N] [--mlp-seeds 0,1] [--no-mlp]
"""
import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from common import DEFAULT_DATA, materialise
from kagglekit.config import preset
from kagglekit.data import load_train
from kagglekit.recipe import train_model



# ---- the notebook, as written (its globals become one namespace, its prints are gone) ----

def notebook_load(csv, seed):
    data = pd.read_csv(csv)
    data = np.array(data)
    m, n = data.shape
    np.random.seed(seed)  # the notebook leaves the global RNG unseeded; seeded here to compare repeats
    np.random.shuffle(data)  # shuffle before splitting into dev and training sets

    data_dev = data[0:1000].T
    Y_dev = data_dev[0]
    X_dev = data_dev[1:n]
    X_dev = X_dev / 255.

    data_train = data[1000:m].T
    Y_train = data_train[0]
    X_train = data_train[1:n]
    X_train = X_train / 255.
    return m, X_train, Y_train, X_dev, Y_dev


def init_params():
    W1 = np.random.rand(10, 784) - 0.5
    b1 = np.random.rand(10, 1) - 0.5
    W2 = np.random.rand(10, 10) - 0.5
    b2 = np.random.rand(10, 1) - 0.5
    return W1, b1, W2, b2


def ReLU(Z):
    return np.maximum(Z, 0)


def softmax(Z):
    A = np.exp(Z) / sum(np.exp(Z))
    return A


def forward_prop(W1, b1, W2, b2, X):
    Z1 = W1.dot(X) + b1
    A1 = ReLU(Z1)
    Z2 = W2.dot(A1) + b2
    A2 = softmax(Z2)
    return Z1, A1, Z2, A2


def ReLU_deriv(Z):
    return Z > 0


def one_hot(Y):
    one_hot_Y = np.zeros((Y.size, Y.max() + 1))
    one_hot_Y[np.arange(Y.size), Y] = 1
    one_hot_Y = one_hot_Y.T
    return one_hot_Y


def backward_prop(Z1, A1, Z2, A2, W1, W2, X, Y, m):
    one_hot_Y = one_hot(Y)
    dZ2 = A2 - one_hot_Y
    dW2 = 1 / m * dZ2.dot(A1.T)
    db2 = 1 / m * np.sum(dZ2)
    dZ1 = W2.T.dot(dZ2) * ReLU_deriv(Z1)
    dW1 = 1 / m * dZ1.dot(X.T)
    db1 = 1 / m * np.sum(dZ1)
    return dW1, db1, dW2, db2


def update_params(W1, b1, W2, b2, dW1, db1, dW2, db2, alpha):
    W1 = W1 - alpha * dW1
    b1 = b1 - alpha * db1
    W2 = W2 - alpha * dW2
    b2 = b2 - alpha * db2
    return W1, b1, W2, b2


def get_predictions(A2):
    return np.argmax(A2, 0)


def gradient_descent(X, Y, alpha, iterations, m):
    W1, b1, W2, b2 = init_params()
    for i in range(iterations):
        Z1, A1, Z2, A2 = forward_prop(W1, b1, W2, b2, X)
        dW1, db1, dW2, db2 = backward_prop(Z1, A1, Z2, A2, W1, W2, X, Y, m)
        W1, b1, W2, b2 = update_params(W1, b1, W2, b2, dW1, db1, dW2, db2, alpha)
    return W1, b1, W2, b2


def run_notebook(csv, seed):
    """(load seconds, train seconds, dev accuracy) of one notebook run."""
    t0 = time.perf_counter()
    m, X_train, Y_train, X_dev, Y_dev = notebook_load(csv, seed)
    t1 = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore"):  # its softmax overflows on some draws
        W1, b1, W2, b2 = gradient_descent(X_train, Y_train, 0.10, 500, m)
        t2 = time.perf_counter()
        _, _, _, A2 = forward_prop(W1, b1, W2, b2, X_dev)
    return t1 - t0, t2 - t1, float(np.mean(get_predictions(A2) == Y_dev))


# ---- kagglekit ----

def cold_load(folder):
    """load_train on a CSV with no parse cache beside it: (seconds, x, y)."""
    for p in folder.iterdir():
        if p.name != "train.csv":
            p.unlink()
    t0 = time.perf_counter()
    x, y = load_train(folder / "train.csv")
    return time.perf_counter() - t0, x, y


def run_preset(name, x, y, seed=0):
    """(train seconds, validation accuracy) of train_model with a preset."""
    config = preset(name).override(seed=seed)
    t0 = time.perf_counter()
    _, history, _ = train_model(x, y, config)
    return time.perf_counter() - t0, history.last["val_acc"]


def load_average():
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="digit-recognizer.zip or a folder with train.csv")
    ap.add_argument("--repeat", type=int, default=1, help="notebook/preset pairs to run, alternating order")
    ap.add_argument("--seed", type=int, default=0, help="seed of the first repeat (then +1 each)")
    ap.add_argument("--mlp-seeds", default="0", help="comma-separated seeds for the mlp preset")
    ap.add_argument("--no-mlp", action="store_true", help="skip the mlp preset")
    args = ap.parse_args(argv)
    if not Path(args.data).exists():
        sys.exit(f"{args.data} not found; pass --data with digit-recognizer.zip or its unpacked folder")

    with tempfile.TemporaryDirectory(prefix="kk-bench-") as tmp:
        folder = Path(tmp)
        materialise(args.data, folder)
        rows = []
        print(f"{os.cpu_count()} CPUs, load average {load_average()} (other work slows the notebook's two-thread BLAS most)")
        print(f"{'run':>4} {'who':<9} {'load s':>7} {'train s':>8} {'total s':>8} {'val acc':>8}")
        for r in range(args.repeat):
            seed = args.seed + r
            result = {}
            for who in (("notebook", "preset") if r % 2 == 0 else ("preset", "notebook")):
                gc.collect()
                if who == "notebook":
                    result[who] = run_notebook(folder / "train.csv", seed)
                else:
                    load_s, x, y = cold_load(folder)
                    train_s, acc = run_preset("seed", x, y, seed)
                    result[who] = (load_s, train_s, acc)
                    del x, y
                load_s, train_s, acc = result[who]
                print(f"{r + 1:>4} {who:<9} {load_s:7.2f} {train_s:8.2f} {load_s + train_s:8.2f} {acc:8.4f}",
                      flush=True)
            rows.append(result)

        def med(who, i):
            return statistics.median(row[who][i] for row in rows)
        nb_train, pr_train = med("notebook", 1), med("preset", 1)
        nb_total = statistics.median(sum(row["notebook"][:2]) for row in rows)
        pr_total = statistics.median(sum(row["preset"][:2]) for row in rows)
        print(f"\nmedian of {len(rows)}: 500 iterations  notebook {nb_train:.2f} s, seed preset {pr_train:.2f} s"
              f"  -> {nb_train / pr_train:.2f}x faster")
        print(f"           with load        notebook {nb_total:.2f} s, seed preset {pr_total:.2f} s"
              f"  -> {nb_total / pr_total:.2f}x faster")
        print(f"           validation acc   notebook {med('notebook', 2):.4f}, seed preset {med('preset', 2):.4f}")

        print(f"           load average now {load_average()}")

        if not args.no_mlp:
            _, x, y = cold_load(folder)
            for seed in (int(s) for s in args.mlp_seeds.split(",")):
                gc.collect()
                seconds, acc = run_preset("mlp", x, y, seed)
                print(f"mlp preset seed {seed}: validation acc {acc:.4f} in {seconds:.1f} s of training", flush=True)


if __name__ == "__main__":
    main()
