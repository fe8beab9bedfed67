"""Where a training step's time goes, by kind of work (issue 17): one epoch of fast_train.fit (batch 128,
the preset's optimizer and augmentation, one BLAS thread) on the replica's first rows, for presets' nets,
with exclusive timers wrapped around the hot functions: products (GEMMs), im2col copies, layout copies,
each fast layer's forward and backward, the loss, the optimizer, augmentation; the rest is the loop's
Python. The timers add ~1 µs a call. Usage: python bench/step_profile.py [--rows 4000] [lenet cnn best]"""
import argparse
import time
import types
from collections import defaultdict
from dataclasses import replace

import numpy as np

import kagglekit.fast.conv as fconv
import kagglekit.fast.layers as flayers
import kagglekit.fast.products as fprod
import kagglekit.fast.rowconv as frow
import kagglekit.fast.train as ftrain
import kagglekit.nn.train as ntrain
from common import DEFAULT_DATA, load_replica
from kagglekit.config import preset
from kagglekit.nn.network import build_network

ACC = defaultdict(float)
STACK = []


def timed(cat, fn):
    """fn, adding its time less that of the timed calls inside it to ACC[cat]."""
    def wrapper(*a, **k):
        t0 = time.perf_counter()
        STACK.append(0.0)
        try:
            return fn(*a, **k)
        finally:
            el = time.perf_counter() - t0
            inner = STACK.pop()
            ACC[cat] += el - inner
            if STACK:
                STACK[-1] += el
    return wrapper


class NpProxy(types.ModuleType):
    """numpy, with the functions named in `wraps` timed under their category."""

    def __init__(self, wraps):
        super().__init__("np_proxy")
        self.__dict__.update({k: timed(v, getattr(np, k)) for k, v in wraps.items()})

    def __getattr__(self, name):
        return getattr(np, name)


def instrument():
    """Wrap the fast modules' products and copies, and each accelerated layer, loss and augmentation."""
    fconv.np = NpProxy({"matmul": "gemm", "copyto": "im2col/col2im copies", "ascontiguousarray": "layout"})
    frow.np = NpProxy({"matmul": "gemm", "copyto": "im2col/col2im copies", "ascontiguousarray": "layout"})
    flayers.matmul_f = timed("gemm", fprod.matmul_f)
    flayers.t_matmul = timed("gemm", fprod.t_matmul)
    orig_acc = ftrain.accelerate
    def accelerate(net, *a, **k):
        fast = orig_acc(net, *a, **k)
        for layer in fast.layers:
            name = type(layer).__name__
            cat = {"FastConv2D": "conv other", "FastDense": "dense other", "FastMaxPool2D": "pool",
                   "ReLU": "relu", "FastReLU": "relu", "FastBatchNorm": "batchnorm", "Dropout": "dropout",
                   "Reshape": "layout"}.get(name, name)
            fwd_cat = bwd_cat = cat
            if cat in ("pool", "batchnorm", "relu"):
                fwd_cat, bwd_cat = cat + " fwd", cat + " bwd"
            layer.forward = timed(fwd_cat, layer.forward)
            layer.backward = timed(bwd_cat, layer.backward)
        fast.loss.forward = timed("loss", fast.loss.forward)
        fast.loss.backward = timed("loss", fast.loss.backward)
        return fast
    ftrain.accelerate = accelerate
    ntrain.augment = timed("augmentation", ntrain.augment)


def run(arch_name, x, y, instrumented=True):
    """One epoch of the preset's net, as recipe.train_model builds it: (seconds, {category: seconds}, config)."""
    config = replace(preset(arch_name), epochs=1, val_size=0)
    if arch_name == "best":
        config = replace(config, members=1)
    rng = np.random.default_rng(0)
    net = build_network(config, rng)
    opt = ftrain.fast_optimizer(config)
    if instrumented:
        opt.step = timed("optimizer", opt.step)
    ACC.clear()
    t0 = time.perf_counter()
    ftrain.fit(net, x, y, config, rng, optimizer=opt)
    total = time.perf_counter() - t0
    return total, dict(ACC), config


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("nets", nargs="*", default=["lenet", "cnn", "best"])
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--data", default=DEFAULT_DATA)
    args = parser.parse_args()
    x, y = load_replica(args.data, args.rows)
    instrument()
    for name in args.nets:
        run(name, x[:512], y[:512])  # buffers made, caches warm
        total, acc, config = run(name, x, y)
        steps = -(-len(x) // config.batch_size)
        acc["python/loop rest"] = total - sum(acc.values())
        print(f"\n{name}: {config.architecture}  {total / steps * 1e3:.2f} ms/step ({steps} steps)")
        for cat, t in sorted(acc.items(), key=lambda kv: -kv[1]):
            print(f"  {cat:24s} {t / steps * 1e3:7.2f} ms  {100 * t / total:5.1f}%")


if __name__ == "__main__":
    main()
