"""Full-batch parts, in worker processes or threads, add up to the plain full-batch gradient."""
import os
import signal
import sys

import numpy as np
import pytest

from kagglekit.config import TrainConfig
from kagglekit.errors import TrainingError
from kagglekit.fast import train as fast_train
from kagglekit.fast.fullbatch import FullBatch
from kagglekit.fast.train import is_full_batch
from kagglekit.nn.network import build_network
from test_fast_rowblocks import pixel_digits, sparse_digits

FORKS = [False, True] if sys.platform.startswith("linux") else [False]


@pytest.mark.parametrize("fork", FORKS, ids=lambda f: "processes" if f else "threads")
@pytest.mark.parametrize("digits", [sparse_digits, lambda: pixel_digits(dtype=np.float64)])
def test_sharded_full_batch_gradient_equals_plain_full_batch(digits, fork):
    x, y = digits()
    config = TrainConfig(hidden=(10,), init="uniform")
    plain = build_network(config, np.random.default_rng(3), dtype=np.float64)
    sharded = build_network(config, np.random.default_rng(3), dtype=np.float64)
    loss, _ = plain.train_step(x, y)
    full = FullBatch(sharded, x, y, shards=3, fork=fork, lighter=20)
    assert [len(ys) for _, ys in full.parts] == [86, 107, 107]  # the caller's part 20 rows lighter
    try:
        for _ in range(2):  # a second step: the workers see the parameters as they are now
            loss_sum, correct = full.step()
            for _, grad in sharded.pairs():
                grad /= 2
    finally:
        full.close()
    assert loss_sum / len(x) == pytest.approx(loss, rel=1e-10)
    assert correct == int((plain.predict(x) == y).sum())
    for (_, a), (_, b) in zip(plain.pairs(), sharded.pairs()):
        np.testing.assert_allclose(a / 2, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("fork", FORKS, ids=lambda f: "processes" if f else "threads")
def test_full_batch_workers_follow_the_updates_and_leave_private_parameters(fork):
    x, y = pixel_digits()
    config = TrainConfig(hidden=(10,), init="uniform")
    nets = [build_network(config, np.random.default_rng(3)) for _ in range(2)]
    fulls = [FullBatch(nets[0], x, y, shards=1), FullBatch(nets[1], x, y, shards=2, fork=fork)]
    try:
        for _ in range(3):
            losses = [full.step()[0] for full in fulls]
            assert losses[1] == pytest.approx(losses[0], rel=1e-5)
            for net in nets:
                for param, grad in net.pairs():
                    param -= 0.5 * grad
    finally:
        for full in fulls:
            full.close()
    for param, _ in nets[1].pairs():
        assert param.flags.owndata  # no longer a view of the memory shared with the workers


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are Linux-only")
def test_full_batch_forks_only_from_a_single_threaded_process(monkeypatch):
    import kagglekit.fast.workers
    x, y = pixel_digits()
    net = build_network(TrainConfig(hidden=(10,)), np.random.default_rng(0))
    fulls = []
    for threads in (1, 2):  # other tests may leave daemon threads behind (tqdm's monitor), so set the count
        monkeypatch.setattr(kagglekit.fast.workers.threading, "active_count", lambda: threads)
        fulls.append(FullBatch(net, x, y))
        fulls[-1].close()
    alone, crowded = fulls
    assert alone.workers is not None and alone.pool is None
    assert crowded.workers is None and crowded.pool is not None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are Linux-only")
def test_a_dead_worker_process_is_a_training_error():
    x, y = pixel_digits()
    full = FullBatch(build_network(TrainConfig(hidden=(10,)), np.random.default_rng(0)), x, y, fork=True)
    try:
        pid = full.workers.pids[0]
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(TrainingError, match="worker process .* failed"):
            full.step()
    finally:
        full.close()


@pytest.mark.parametrize("arch", ["bn,dense8", "dropout0.2,dense8", "bn"])
def test_a_full_batch_net_not_starting_with_dense_trains_by_the_plain_loop(arch):
    # Packed rows (RowBlocks) only feed a dense layer: batch norm or dropout first once failed on them.
    config = TrainConfig(arch=arch, batch_size=0, epochs=2)
    assert not is_full_batch(config)
    x = np.random.default_rng(0).random((40, 784), dtype=np.float32)
    net = build_network(config, np.random.default_rng(1))
    fast_train.fit(net, x, np.arange(40) % 10, config, np.random.default_rng(2))
    assert net.weights_finite()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are Linux-only")
def test_a_fork_that_fails_stops_the_workers_forked_before_it(monkeypatch):
    forked, fork = [], os.fork

    def second_fails():
        if forked:
            raise OSError(12, "Cannot allocate memory")
        forked.append(fork())
        return forked[-1]

    x, y = pixel_digits(60)
    net = build_network(TrainConfig(hidden=(10,)), np.random.default_rng(0))
    monkeypatch.setattr(os, "fork", second_fails)
    with pytest.raises(OSError, match="Cannot allocate memory"):
        FullBatch(net, x, y, shards=3, fork=True)
    monkeypatch.setattr(os, "fork", fork)
    with pytest.raises(ChildProcessError):  # the first worker was stopped and reaped, not left running
        os.waitpid(forked[0], os.WNOHANG)
    assert all(p.flags.owndata for p, _ in net.pairs())  # and the parameters private again


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are Linux-only")
def test_a_fork_that_fails_leaves_no_pipe_open(monkeypatch):
    def open_fds():
        return set(os.listdir("/proc/self/fd"))

    def fails():
        raise OSError(12, "Cannot allocate memory")

    x, y = pixel_digits(60)
    net = build_network(TrainConfig(hidden=(10,)), np.random.default_rng(0))
    before = open_fds()
    monkeypatch.setattr(os, "fork", fails)
    with pytest.raises(OSError, match="Cannot allocate memory"):
        FullBatch(net, x, y, shards=2, fork=True)
    assert open_fds() <= before


@pytest.mark.parametrize("arch", ["dense16,bn", "dense16,dropout0.3"])
def test_full_batch_with_batch_norm_or_dropout_trains_alike_in_one_or_two_parts(arch):
    # Shards with statistics or masks of their own would differ by more than round-off.
    config = TrainConfig(arch=arch, batch_size=0, epochs=3, optimizer="adam", lr=1e-2)
    assert not is_full_batch(config) and is_full_batch(TrainConfig(arch="dense16", batch_size=0))
    x, y = pixel_digits(64)
    trained = []
    for workers in (1, 2):
        net = build_network(config, np.random.default_rng(1))
        fast_train.fit(net, x, y, config, np.random.default_rng(2), workers=workers)
        trained.append([p.copy() for p, _ in net.pairs()])
    for a, b in zip(*trained):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
