"""What augmentation costs, as a share of a training epoch, on the replica data.

Times one epoch's augmentation (the affine warp, and today's whole-pixel shift for reference) in
batches of 128 and 512 against one training epoch at the same batch size of the `mlp` preset's network
(784-800-10, the fast loop, augmentation off) and, when nn.registry.LAYERS has "conv2d", of a LeNet-5
style net (plain loop, on --cnn-rows rows and scaled to the epoch: the cost per row is what compares).
Measurements alternate, the median of --repeat is printed. On a shared machine only the ratios mean much.

    python bench/augment_cost.py [--data /tmp/benchdata/train.csv] [--repeat 3] [--cnn-rows 2048]
"""
import argparse
import statistics
import time

import numpy as np

from kagglekit.config import preset
from kagglekit.data import load_train
from kagglekit.fast import train as fast_train
from kagglekit.nn import train as plain_train
from kagglekit.nn.augment import random_affine, random_shift, warp
from kagglekit.nn.network import Network, build_network
from kagglekit.nn.registry import LAYERS

BATCHES = (128, 512)
WARP = dict(rotate=10, zoom=0.1, shear=10, shift=2)  # a typical MNIST setting; cost does not depend on it


def warp_batch(xb, rng):
    return warp(xb, random_affine(len(xb), **WARP, rng=rng))


def shift_batch(xb, rng):
    return random_shift(xb, 2, rng)


def augment_seconds(x, batch, how, rng):
    """Seconds that `how` takes over one epoch of x in shuffled batches (the batch gather not counted)."""
    perm, total = rng.permutation(len(x)), 0.0
    for start in range(0, len(x), batch):
        xb = x[perm[start:start + batch]]
        t = time.perf_counter()
        how(xb, rng)
        total += time.perf_counter() - t
    return total


def lenet(rng):
    """LeNet-5 as commonly adapted to 28x28: conv 6@5x5 pad 2, pool, conv 16@5x5, pool, 120, 84, 10."""
    make = LAYERS.get
    return Network([make("reshape")((1, 28, 28)),
                    make("conv2d")(1, 6, 5, padding=2, rng=rng), make("relu")(), make("maxpool2d")(2),
                    make("conv2d")(6, 16, 5, rng=rng), make("relu")(), make("maxpool2d")(2), make("flatten")(),
                    make("dense")(400, 120, rng=rng), make("relu")(), make("dense")(120, 84, rng=rng),
                    make("relu")(), make("dense")(84, 10, rng=rng)])


def train_seconds(fit, build, x, y, batch):
    config = preset("mlp").override(epochs=1, batch_size=batch, augment_shift=0)
    rng = np.random.default_rng(0)
    net = build(config, rng)
    t = time.perf_counter()
    fit(net, x, y, config, rng)
    return time.perf_counter() - t


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="/tmp/benchdata/train.csv")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cnn-rows", type=int, default=2048)
    args = parser.parse_args()
    x, y = load_train(args.data)
    nets = {"mlp 784-800-10": (fast_train.fit, build_network, len(x))}
    if "conv2d" in LAYERS:
        nets["lenet-5"] = (plain_train.fit, lambda config, rng: lenet(rng), min(args.cnn_rows, len(x)))
    else:
        print("no conv2d layer in nn.registry.LAYERS: the CNN is left out")
    jobs = {}  # name -> function returning seconds per row
    for batch in BATCHES:
        for name, how in (("warp", warp_batch), ("shift", shift_batch)):
            jobs[(name, batch)] = lambda b=batch, h=how: augment_seconds(x, b, h, np.random.default_rng(1)) / len(x)
        for name, (fit, build, rows) in nets.items():
            jobs[(name, batch)] = lambda f=fit, bd=build, r=rows, b=batch: train_seconds(f, bd, x[:r], y[:r], b) / r
    times = {key: [] for key in jobs}
    for _ in range(args.repeat):  # alternate, so that a noisy neighbour slows every job alike
        for key, job in jobs.items():
            times[key].append(job())
    per_row = {key: statistics.median(t) for key, t in times.items()}
    print(f"{len(x)} rows; augmentation {WARP}; median of {args.repeat}; epoch = {len(x)} rows")
    for batch in BATCHES:
        print(f"\nbatch {batch}:")
        for name in ("warp", "shift"):
            print(f"  {name:6s} augmentation  {per_row[(name, batch)] * len(x):7.2f} s/epoch")
        for net in nets:
            epoch = per_row[(net, batch)] * len(x)
            shares = ", ".join(f"{name} {100 * per_row[(name, batch)] * len(x) / epoch:.1f}%"
                               for name in ("warp", "shift"))
            print(f"  {net:15s} training {epoch:7.2f} s/epoch -> augmentation costs {shares} of it")


if __name__ == "__main__":
    main()
