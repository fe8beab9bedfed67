"""Prediction in parallel parts of the rows (fast/predict.py, recipe.tta_proba's parts): the same values
as one part, in worker processes or threads; a worker that dies is one clear error, Ctrl-C stops them."""
import os
import signal
import sys
import time

import numpy as np
import pytest

from kagglekit.config import TrainConfig
from kagglekit.errors import KagglekitError
from kagglekit.fast import predict
from kagglekit.nn.network import build_network
from kagglekit.recipe import tta_proba

LINUX = sys.platform.startswith("linux")


@pytest.mark.parametrize("fork", [True, False] if LINUX else [False], ids=["processes", "threads"][:1 + LINUX])
def test_parts_predict_exactly_what_one_part_does(fork, monkeypatch):
    monkeypatch.setattr(predict, "FORK", fork)
    rng = np.random.default_rng(4)
    nets = [build_network(TrainConfig(arch="conv4k3p1,bn,pool,dense16,dropout0.3"), rng) for _ in range(2)]
    x = rng.random((3 * predict.CHUNK + 50, 784), dtype=np.float32)  # 4 chunks, the last one short
    whole = tta_proba(nets, x, 3)
    for parts in (2, 3, 9):  # 9: no more parts than chunks
        np.testing.assert_array_equal(tta_proba(nets, x, 3, parts), whole)
    assert whole.shape == (len(x), 10) and whole.dtype == np.float32


def dies_in_a_worker(rows):
    if rows[0, 0] > 0:  # every part but the first
        os.kill(os.getpid(), signal.SIGKILL)
    return rows[:, :2] * 2


def fails_in_a_worker(rows):
    if rows[0, 0] > 0:
        raise MemoryError("Unable to allocate 3.2 GiB")
    return rows[:, :2] * 2


@pytest.mark.skipif(not LINUX, reason="worker processes are Linux-only")
@pytest.mark.parametrize("fn, why", [(dies_in_a_worker, "it was killed or ran out of memory"),
                                     (fails_in_a_worker, "MemoryError: Unable to allocate 3.2 GiB")])
def test_a_worker_that_dies_or_fails_is_one_clear_error(fn, why, monkeypatch):
    monkeypatch.setattr(predict, "FORK", True)  # a worker, not a thread of this process, dies
    x = np.zeros((2 * predict.CHUNK, 3), np.float32)
    x[predict.CHUNK:] = 1
    with pytest.raises(KagglekitError, match=rf"prediction worker process \d+ failed \({why}\); rerun the command"):
        predict.in_parts(fn, x, 2)


@pytest.mark.skipif(not LINUX, reason="worker processes are Linux-only")
def test_ctrl_c_in_the_callers_part_stops_the_workers_at_once(monkeypatch):
    made = []

    class Recorded(predict.Workers):
        def fork(self, serve):
            made.append(self)
            super().fork(serve)

    def slow(rows):
        if rows[0, 0] > 0:
            time.sleep(60)  # a worker's long part
        else:
            time.sleep(0.2)  # the caller's, until Ctrl-C
            raise KeyboardInterrupt
        return rows

    monkeypatch.setattr(predict, "Workers", Recorded)
    monkeypatch.setattr(predict, "FORK", True)
    x = np.zeros((2 * predict.CHUNK, 3), np.float32)
    x[predict.CHUNK:] = 1
    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        predict.in_parts(lambda rows: slow(rows) if len(rows) > 1 else rows, x, 2)  # the 1-row probe passes
    assert time.perf_counter() - start < 10
    assert made and made[0].pids == []  # closed: killed and reaped
