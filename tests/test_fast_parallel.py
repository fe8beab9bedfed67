"""Data parallelism inside minibatch steps (fast/parallel.py): a batch cut into parts, in worker processes
or threads, trains the weights one part does within float32 round-off (batch norm on the whole batch's
statistics, dropout masks and augmentation that do not depend on the cut), the same weights on every run,
and a worker that fails or dies is one TrainingError, never a hang."""
import os
import signal
import sys
import threading

import numpy as np
import pytest

from kagglekit.config import TrainConfig
from kagglekit.errors import TrainingError
from kagglekit.fast import parallel, workers
from kagglekit.fast.layers import accelerate
from kagglekit.fast.optim import pieces
from kagglekit.fast import train as fast_train
from kagglekit.fast.parallel import DataParallel, PartDropout, part_twin
from kagglekit.nn.layers import Dropout
from kagglekit.nn.network import build_network
from kagglekit.parallel import task_cores
from test_fast_rowblocks import pixel_digits

MODES = [True, False] if sys.platform.startswith("linux") else [False]
MODE_IDS = lambda fork: "processes" if fork else "threads"  # noqa: E731
CNN = TrainConfig(arch="conv4k3,bn,pool,dense16,bn,dropout0.3", optimizer="sgd", lr=0.05, epochs=2, batch_size=50,
                  augment_rotate=8, augment_shift=2)
MLP = TrainConfig(hidden=(24,), dropout=0.2, optimizer="adam", lr=1e-3, epochs=2, batch_size=64, augment_shift=2)


def trained(config, workers, fork=None, monkeypatch=None, **kwargs):
    """(weights and buffers, History, generator) after fast.train.fit with `workers` parts on 180 digits."""
    if monkeypatch is not None:
        monkeypatch.setattr(parallel, "FORK", fork)
    x, y = pixel_digits(200)
    rng = np.random.default_rng(1)
    net = build_network(config, rng)
    history = fast_train.fit(net, x[:180], y[:180], config, rng, x[180:], y[180:], workers=workers, **kwargs)
    arrays = [a.copy() for layer in net.layers for d in (layer.params, layer.buffers) for a in d.values()]
    return arrays, history, rng


@pytest.mark.parametrize("fork", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("config", [CNN, MLP], ids=["cnn-bn-dropout-warp", "mlp-dropout-shift"])
def test_parts_train_the_weights_one_part_does_within_round_off(config, fork, monkeypatch):
    one, one_history, one_rng = trained(config, 1)
    for workers in (2, 3):  # 50-row batches cut 25/25 and 16/17/17, and the last batch of 30 rows too
        many, history, rng = trained(config, workers, fork, monkeypatch)
        assert len(many) == len(one)
        for a, b in zip(one, many):
            np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)
        assert any(not np.array_equal(a, b) for a, b in zip(one, many)) or workers == 1  # really other sums
        np.testing.assert_allclose(history.column("train_loss"), one_history.column("train_loss"), rtol=1e-5)
        assert history.column("train_acc") == one_history.column("train_acc")
        # Augmentation and dropout drew from the run's generator exactly what one part draws.
        assert rng.bit_generator.state == one_rng.bit_generator.state


@pytest.mark.parametrize("fork", MODES, ids=MODE_IDS)
def test_a_seed_gives_the_same_weights_every_run(fork, monkeypatch):
    first, _, _ = trained(CNN, 2, fork, monkeypatch)
    second, _, _ = trained(CNN, 2, fork, monkeypatch)
    for a, b in zip(first, second):
        assert np.array_equal(a, b)  # bit for bit


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are Linux-only")
def test_processes_and_threads_do_the_same_arithmetic(monkeypatch):
    processes, _, _ = trained(CNN, 2, True, monkeypatch)
    threads, _, _ = trained(CNN, 2, False, monkeypatch)
    for a, b in zip(processes, threads):
        assert np.array_equal(a, b)


ADAM_CNN = TrainConfig(arch="conv4k3,bn,pool,dense16,bn,dropout0.3", optimizer="adam", lr=1e-3, epochs=2,
                      batch_size=50, weight_decay=1e-3, augment_shift=2)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are Linux-only")
@pytest.mark.parametrize("workers", [2, 3])
def test_parts_updating_their_ranges_equal_the_callers_whole_update_bit_for_bit(workers, monkeypatch):
    made = []
    monkeypatch.setattr(fast_train, "DataParallel", lambda *a, **k: made.append(DataParallel(*a, **k)) or made[-1])

    def run():
        optimizer = fast_train.fast_optimizer(ADAM_CNN)
        arrays, history, _ = trained(ADAM_CNN, workers, True, monkeypatch, optimizer=optimizer)
        return arrays, history, optimizer

    ranges, ranges_history, ranges_adam = run()
    assert made[-1].updates and made[-1].workers is None  # the parts took the step, and are gone
    monkeypatch.setattr(parallel, "BlockedAdam", type("Other", (), {}))  # not BlockedAdam: the caller steps
    whole, whole_history, whole_adam = run()
    assert not made[-1].updates
    for a, b in zip(ranges, whole):
        assert np.array_equal(a, b)
    assert ranges_history.column("train_loss") == whole_history.column("train_loss")
    assert ranges_adam.t == whole_adam.t == 8  # 4 steps an epoch (50, 50, 50, 30 rows), 2 epochs
    for i in whole_adam.m:
        assert np.array_equal(ranges_adam.m[i], whole_adam.m[i]) and np.array_equal(ranges_adam.v[i], whole_adam.v[i])
        assert ranges_adam.m[i].flags.owndata  # private again once the workers are gone


def test_pieces_cut_arrays_seen_end_to_end():
    assert pieces([3, 5, 2], 0, 10) == [(0, 0, 3), (1, 0, 5), (2, 0, 2)]
    assert pieces([3, 5, 2], 2, 5) == [(0, 2, 3), (1, 0, 2)]
    assert pieces([3, 5, 2], 8, 9) == [(2, 0, 1)]
    assert pieces([3, 5, 2], 3, 3) == []


def test_part_dropout_uses_its_rows_of_the_whole_batchs_mask():
    x = np.ones((10, 3, 4, 4), np.float32)
    plain = Dropout(0.5, np.random.default_rng(7))
    whole = plain.forward(x, training=True)
    part = plain.twin(PartDropout)
    part.rng, part.rows = np.random.default_rng(7), (4, 10, 10)
    np.testing.assert_array_equal(part.forward(x[4:], training=True), whole[4:])
    assert part.forward(x[4:]) is not None and np.array_equal(part.forward(x[4:]), x[4:])  # not training: x


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are Linux-only")
def test_a_worker_killed_mid_training_is_a_training_error(monkeypatch):
    made = []
    monkeypatch.setattr(fast_train, "DataParallel", lambda *a, **k: made.append(DataParallel(*a, **k)) or made[-1])

    def kill(i, *_):
        if i == 1:
            os.kill(made[0].workers.pids[0], signal.SIGKILL)

    with pytest.raises(TrainingError, match=r"training worker process \d+ failed \(it was killed or ran out of "
                                            r"memory\); rerun the command"):
        trained(CNN, 2, True, monkeypatch, on_batch=kill)
    assert made[0].workers is None and all(p.flags.owndata for p, _ in made[0].net.pairs())  # closed


@pytest.mark.parametrize("fork", MODES, ids=MODE_IDS)
def test_a_part_that_fails_while_the_others_wait_at_batch_norm_is_an_error_not_a_hang(fork, monkeypatch):
    def failing_twin(net, own):
        twin = part_twin(net, own)
        if own:  # part 1's dense layer fails; part 0 waits for it at the batch norm after its own
            dense = next(layer for layer in twin.layers if layer.kind == "dense")
            dense.forward = lambda x, training=False: 1 / 0
        return twin

    monkeypatch.setattr(parallel, "part_twin", failing_twin)
    x, y = pixel_digits(60)
    data = DataParallel(build_network(CNN, np.random.default_rng(0)), x, y, CNN, np.random.default_rng(0), 2,
                        fork=fork)
    try:
        failed = (TrainingError, r"training worker process \d+ failed \(ZeroDivisionError: division by zero\)") \
            if fork else (ZeroDivisionError, "division by zero")
        with pytest.raises(failed[0], match=failed[1]):
            data.step(np.arange(50))
    finally:
        data.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are Linux-only")
def test_workers_leave_ctrl_c_and_sigterm_to_the_caller():
    x, y = pixel_digits(60)
    data = DataParallel(build_network(CNN, np.random.default_rng(0)), x, y, CNN, np.random.default_rng(0), 2,
                        fork=True)
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            os.kill(data.workers.pids[0], signum)
        loss, correct, rows = data.step(np.arange(50))  # the worker is still there
        assert rows == 50 and np.isfinite(loss)
    finally:
        data.close()


def test_members_at_once_share_the_cores(monkeypatch):
    monkeypatch.setattr("kagglekit.parallel.cores", lambda: 2)
    assert task_cores() == 2  # one run: every core
    assert task_cores(None, -1, 2) == 1  # a 2-member ensemble on 2 cores: 1 worker each
    assert task_cores(None, 1, 2) == 2  # one member at a time: both cores
    assert task_cores(8, 2, 5) == 4 and task_cores(8, -1, 1) == 8  # -t 8: shared by those at once
    assert task_cores(1, 4, 4) == 1 and task_cores(3, 2, 2) == 1  # never fewer than one, never more than fit


@pytest.mark.parametrize("files, expected", [
    ({"cpu.max": "200000 100000\n"}, 2), ({"cpu.max": "150000 100000\n"}, 2), ({"cpu.max": "max 100000\n"}, None),
    ({"quota": "-1\n", "period": "100000\n"}, None), ({"quota": "300000\n", "period": "100000\n"}, 3), ({}, None)])
def test_a_containers_cpu_quota_caps_the_cores(files, expected, tmp_path, monkeypatch):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(workers, "CGROUP_QUOTAS", ((str(tmp_path / "cpu.max"),),
                                                   (str(tmp_path / "quota"), str(tmp_path / "period"))))
    assert workers.cpu_quota() == expected
    monkeypatch.setattr(workers.os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert workers.cores() == (expected or 8)


def test_a_batch_is_not_cut_into_parts_of_fewer_than_min_part_rows():
    x = np.zeros((200, 784), np.float32)
    config = TrainConfig(hidden=(8,), batch_size=64, epochs=1)
    net = build_network(config, np.random.default_rng(0))
    with parallel.DataParallel(accelerate(net), x, np.arange(200) % 10, config, np.random.default_rng(1), 16,
                               fork=False) as dp:
        assert dp.parts == 64 // parallel.MIN_PART_ROWS
        assert dp.step(np.arange(40))[2] == 40 and dp.active == 40 // parallel.MIN_PART_ROWS
        dp.step(np.arange(10))
        assert dp.active == 1


def test_a_pipe_read_polls_then_sleeps_and_returns_what_os_read_does():
    r, w = os.pipe()
    try:
        os.write(w, b"now")
        assert workers.read(r, 10) == b"now"  # there already
        late = threading.Timer(10 * workers.POLL_SECONDS, os.write, (w, b"late"))
        late.start()  # after the polling has given up: the read sleeps on the pipe until it comes
        assert workers.read(r, 10) == b"late"
        late.join()
        os.close(w)
        w = None
        assert workers.read(r, 10) == b""  # the writer gone: end of file
    finally:
        os.close(r)
        if w is not None:
            os.close(w)
