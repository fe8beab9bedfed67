"""The contestants of the epoch benches, all built from one spec string so that they cannot drift:
kagglekit's network through its own builder (nn.network.build_network) trained by fast.train.fit at W
workers, its PyTorch twin (CPU, N threads) from the same parsed spec, and the GEMM limit of both; then
rounds of them in alternating order, medians, ratios and fractions of the limit."""
import inspect
import math
import statistics
import time

import numpy as np

import gemm
from kagglekit.fast import train as fast_train
from kagglekit.nn.network import build_network

# Another change adds workers= (data parallelism inside a minibatch) to fast.train.fit; until it has,
# kagglekit trains at one worker and the bench says so.
HAS_WORKERS = "workers" in inspect.signature(fast_train.fit).parameters


def weights(net):
    return sum(p.size for p, _ in net.pairs())


def kagglekit_epoch(config, x, y, workers):
    net = build_network(config, np.random.default_rng(0))
    kwargs = {"workers": workers} if HAS_WORKERS else {}
    start = time.perf_counter()
    fast_train.fit(net, x, y, config, np.random.default_rng(1), **kwargs)
    return time.perf_counter() - start


def torch_twin(spec, torch):
    """The network nn.spec builds from spec, in PyTorch: each conv and dense followed by ReLU (a bn token
    after it, so conv -> relu -> bn as kagglekit stacks them), a flatten before the first dense after
    image layers, the classifier Linear(..., 10) without one; it takes (n, 784) rows as kagglekit does."""
    nn, layers = torch.nn, []
    for kind, numbers, shape, out in gemm.walk(spec):
        if len(shape) == 3 and not layers:
            layers.append(nn.Unflatten(1, shape))
        if kind == "conv":
            filters, kernel, padding, stride = numbers
            layers += [nn.Conv2d(shape[0], filters, kernel, stride=stride, padding=padding), nn.ReLU()]
        elif kind == "pool":
            layers.append(nn.MaxPool2d(numbers[0]))
        elif kind == "bn":
            layers.append((nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d)(shape[0]))
        elif kind == "dropout":
            layers.append(nn.Dropout(numbers[0]))
        else:
            layers += [nn.Flatten()] if len(shape) == 3 else []
            layers.append(nn.Linear(math.prod(shape), numbers[0]))
            layers += [nn.ReLU()] if kind == "dense" else []
    return nn.Sequential(*layers)


def torch_epoch(config, x, y, threads, torch):
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    model, xt, yt = torch_twin(config.architecture, torch), torch.from_numpy(x), torch.from_numpy(y)
    optimizer, loss_fn = torch.optim.Adam(model.parameters(), lr=config.lr), torch.nn.CrossEntropyLoss()
    model.train()
    start = time.perf_counter()
    for idx in torch.randperm(len(x)).split(config.batch_size):
        optimizer.zero_grad()
        loss_fn(model(xt[idx]), yt[idx]).backward()
        optimizer.step()
    elapsed = time.perf_counter() - start
    torch.set_num_threads(1)  # its idle pool must not compete with the next contestant
    return elapsed


def check_twins(config, torch):
    """SystemExit unless kagglekit's network and the PyTorch twin hold the same number of weights."""
    ours = weights(build_network(config, np.random.default_rng(0)))
    theirs = sum(p.numel() for p in torch_twin(config.architecture, torch).parameters())
    if ours != theirs:
        raise SystemExit(f"{config.architecture}: kagglekit holds {ours:,} weights, the PyTorch twin {theirs:,}")


def contestants(config, workers, threads, torch, extra=None):
    """{name: epoch(x, y)} of kagglekit at each worker count and PyTorch at each thread count (and
    `extra`'s), saying what it cannot time."""
    if not HAS_WORKERS and any(w != 1 for w in workers):
        print("fast.train.fit takes no workers= yet: timing kagglekit at 1 worker only")
        workers = [1]
    found = {f"kagglekit W={w}": (lambda x, y, w=w: kagglekit_epoch(config, x, y, w)) for w in workers}
    if torch is None:
        print("PyTorch is not installed in this Python (pip install 'kagglekit[bench]'): timing kagglekit only")
    else:
        check_twins(config, torch)
        found.update({f"pytorch {t}t": (lambda x, y, t=t: torch_epoch(config, x, y, t, torch)) for t in threads})
    found.update(extra or {})
    return found


def compare(config, x, y, who, repeat, min_seconds=0.06):
    """Rounds of every contestant's epoch and of the GEMM limit (at 1 and 2 BLAS threads), the order
    reversed every other round; the medians, and each contestant's fraction of the 2-thread limit and
    ratio against PyTorch's better thread count. Prints each round."""
    spec, batch = config.architecture, config.batch_size
    times, limits = {name: [] for name in who}, {1: [], 2: []}
    order = list(who) + ["gemm"]
    for r in range(repeat):
        for name in order if r % 2 == 0 else order[::-1]:
            if name == "gemm":
                for t, (seconds, _) in gemm.limit(spec, batch, len(x), min_seconds=min_seconds).items():
                    limits[t].append(seconds)
            else:
                times[name].append(who[name](x, y))
        print(f"  round {r + 1}: " + ", ".join(f"{n} {times[n][-1]:.2f} s" for n in who)
              + f"; products alone {limits[1][-1]:.2f} s at 1 thread, {limits[2][-1]:.2f} s at 2", flush=True)
    flop = 2 * gemm.macs_per_row(spec) * len(x)
    limit = {t: statistics.median(s) for t, s in limits.items()}
    medians = {name: statistics.median(t) for name, t in times.items()}
    torch_best = min((s for n, s in medians.items() if n.startswith("pytorch")), default=None)
    ours_best = min(s for n, s in medians.items() if n.startswith("kagglekit"))
    return {"spec": spec, "rows": len(x), "batch": batch, "repeat": repeat, "macs_per_row": flop / 2 / len(x),
            "tflop_per_epoch": flop / 1e12,
            "gemm": {t: {"s": s, "gflops": flop / s / 1e9} for t, s in limit.items()},
            "seconds": medians, "limit_fraction": {n: limit[2] / s for n, s in medians.items()},
            "kagglekit_best_s": ours_best, "pytorch_best_s": torch_best,
            "ratio_vs_pytorch_best": torch_best and ours_best / torch_best}


def report(name, result):
    """Print one net's medians, ratio and fractions of the GEMM limit."""
    gemm_1, gemm_2 = result["gemm"][1], result["gemm"][2]
    print(f"{name} ({result['spec']}): {result['tflop_per_epoch']:.3f} TFLOP an epoch of {result['rows']:,} rows; "
          f"its products alone {gemm_1['s']:.2f} s at 1 thread ({gemm_1['gflops']:.0f} GFLOP/s), "
          f"{gemm_2['s']:.2f} s at 2 ({gemm_2['gflops']:.0f} GFLOP/s): the limit")
    for who, seconds in result["seconds"].items():
        print(f"  {who:<16} {seconds:7.2f} s  {100 * result['limit_fraction'][who]:5.1f}% of the GEMM limit")
    if result["ratio_vs_pytorch_best"]:
        print(f"  kagglekit's best / PyTorch's best: {result['ratio_vs_pytorch_best']:.2f} (target <= 1.0)")
