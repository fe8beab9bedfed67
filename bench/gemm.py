"""The GEMM limit of a training epoch: the matrix products a spec's network does per step (forward,
weight gradient and input gradient of every conv and dense layer, counted from the spec as nn.spec
builds it) and this machine's float32 np.matmul time at exactly those shapes. An epoch can be no faster
than its products at the BLAS's best rate; the fraction of that limit a contestant reaches says how much
of its time is anything else (pooling, activations, copies, the optimizer, the interpreter)."""
import math
import time

import numpy as np

from kagglekit.fast.blas import blas_threads
from kagglekit.nn.spec import IMAGE_KINDS, parse


def walk(spec, side=28, classes=10):
    """(kind, numbers, shape in, shape out) of every token of spec, then the implied classifier as
    ("output", (classes,), ...); shapes without the batch, (c, h, w) or (n,), as nn.spec builds them: the
    pixels become one square channel before the first conv or pool, a conv's numbers are (filters,
    kernel, padding, stride) with the defaults filled in, a pool's (window,)."""
    shape, layers = (side * side,), []
    for kind, numbers, _ in parse(spec) + [("output", (classes,), "")]:
        if kind in IMAGE_KINDS and len(shape) == 1:
            shape = (1, side, side)
        if kind == "conv":
            numbers = (numbers[0], numbers[1], numbers[2] or 0, numbers[3] or 1)
            filters, kernel, padding, stride = numbers
            out = (filters,) + tuple((s + 2 * padding - kernel) // stride + 1 for s in shape[1:])
        elif kind == "pool":
            numbers = (numbers[0] or 2,)
            out = (shape[0],) + tuple(s // numbers[0] for s in shape[1:])
        elif kind in ("dense", "output"):
            out = (numbers[0],)
        else:  # bn, dropout
            out = shape
        layers.append((kind, numbers, shape, out))
        shape = out
    return layers


def products(spec, batch):
    """(what, m, k, n, a transposed, b transposed) of every matrix product of one training step on
    `batch` rows. A conv is its im2col product: (batch·pixels out, in channels·kernel²) columns times the
    (in channels·kernel², filters) weights. The first layer with weights needs no input gradient."""
    found, first = [], True
    for kind, numbers, shape, out in walk(spec):
        if kind == "conv":
            rows, inner, width = batch * math.prod(out[1:]), shape[0] * numbers[1] ** 2, numbers[0]
        elif kind in ("dense", "output"):
            rows, inner, width = batch, math.prod(shape), numbers[0]
        else:
            continue
        found += [(f"{kind} forward", rows, inner, width, False, False),  # x @ W
                  (f"{kind} weight grad", inner, rows, width, True, False)]  # x.T @ dy
        if not first:
            found.append((f"{kind} input grad", rows, width, inner, False, True))  # dy @ W.T
        first = False
    return found


def macs_per_row(spec):
    """Multiply-adds of one training step per row (the products are linear in the batch)."""
    return sum(m * k * n for _, m, k, n, _, _ in products(spec, 1))


# LeNet-5 by hand, per image: conv6k5p2 6·25·28² = 117,600; conv16k5 on 14² (6 channels) 16·150·10² =
# 240,000; dense 400·120 = 48,000, 120·84 = 10,080, 84·10 = 840. Forward 416,520; weight gradients the
# same; input gradients all but the first conv's 298,920: 1,131,960 (0.093 TFLOP an epoch of 41,000).
assert macs_per_row("conv6k5p2,pool,conv16k5,pool,dense120,dense84") == 1_131_960


def matmul_seconds(m, k, n, a_t, b_t, threads, min_seconds):
    """Seconds of one float32 np.matmul of (m, k) by (k, n) at `threads` BLAS threads, either operand
    a transposed view as the backward pass hands it over: the best of 3 timed blocks (a limit is what
    the machine can do; the rounds around it take the medians)."""
    rng = np.random.default_rng(0)
    a = rng.random((k, m) if a_t else (m, k), dtype=np.float32)
    b = rng.random((n, k) if b_t else (k, n), dtype=np.float32)
    a, b = (a.T if a_t else a), (b.T if b_t else b)
    out = np.empty((m, n), np.float32)
    with blas_threads(threads):
        start, calls = time.perf_counter(), 0
        while calls < 2 or time.perf_counter() - start < min_seconds / 3:  # warm up, and size a block
            np.matmul(a, b, out=out)
            calls += 1
        blocks = []
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(calls):
                np.matmul(a, b, out=out)
            blocks.append((time.perf_counter() - start) / calls)
    return min(blocks)


def step_seconds(spec, batch, threads, min_seconds=0.06):
    """Seconds of one training step's products at `threads` BLAS threads, each shape timed."""
    return sum(matmul_seconds(*shape[1:], threads, min_seconds) for shape in products(spec, batch))


def limit(spec, batch, rows, threads=(1, 2), min_seconds=0.06):
    """{threads: (epoch seconds of the products alone, GFLOP/s)} for an epoch of `rows` rows: the time
    of a full step's products scaled to the epoch's rows, and the time-weighted rate over the shapes."""
    flop = 2 * macs_per_row(spec) * rows
    found = {}
    for t in threads:
        seconds = step_seconds(spec, batch, t, min_seconds) * rows / batch
        found[t] = (seconds, flop / seconds / 1e9)
    return found
