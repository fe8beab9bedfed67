"""Training progress on stderr: a redrawn bar on a terminal, one plain line per epoch elsewhere, nothing
with -q; fed by fit's per-batch hook."""
import re

import numpy as np
import pytest
from click.testing import CliRunner

from kagglekit.cli import main, progress
from kagglekit.config import TrainConfig
from kagglekit.nn.network import build_network
from kagglekit.nn.train import fit

TRAIN = ["train", "--preset", "quick", "--epochs", "2", "--val-size", "20", "--batch-size", "16"]
EPOCH_LINE = re.compile(r"^epoch (\d)/2: loss \d\.\d{4} acc \d\.\d{4} val_loss \d+\.\d{4} val_acc \d\.\d{4} "
                        r"lr 0\.002 \(\d+\.\d s\)$")


@pytest.fixture
def train(tmp_path, monkeypatch, tiny_competition):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(progress, "REDRAW_SECONDS", 0)  # draw every batch: the test is faster than 0.1 s
    monkeypatch.setenv("COLUMNS", "120")  # the bar is cut to the terminal's width

    def run(*extra):
        result = CliRunner().invoke(main, [*TRAIN, "-p", str(tiny_competition), *extra])
        assert result.exit_code == 0, result.output
        return result
    return run


def test_on_batch_sees_every_step_with_running_means_and_the_rate():
    rng = np.random.default_rng(0)
    x, y = rng.random((50, 784), dtype=np.float32), np.arange(50) % 10
    config = TrainConfig(hidden=(8,), epochs=2, batch_size=16, lr=0.01, lr_decay=0.5)
    calls = []
    history = fit(build_network(config, rng), x, y, config, rng, on_batch=lambda *a: calls.append(a))
    assert [(i, n) for i, n, *_ in calls] == [(i, 4) for i in range(4)] * 2
    assert [lr for *_, lr in calls] == [0.01] * 4 + [0.005] * 4
    last_of_epoch = [calls[3], calls[7]]
    for (*_, loss, acc, _), row in zip(last_of_epoch, history.rows):
        assert loss == pytest.approx(row["train_loss"]) and acc == row["train_acc"]


def test_off_a_terminal_one_plain_line_per_epoch(train):
    lines = train().stderr.splitlines()
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert [EPOCH_LINE.match(line).group(1) for line in epochs] == ["1", "2"]
    assert "\r" not in train("--name", "again").stderr


def test_on_a_terminal_a_bar_moves_with_the_batches(train, monkeypatch):
    monkeypatch.setattr(progress, "is_terminal", lambda stream: True)
    stderr = train().stderr
    draws = [part.removesuffix("\x1b[K") for line in stderr.split("\n") for part in line.split("\r") if part]
    bars = [d for d in draws if d.startswith("epoch 1/2 ")]
    # 40 training rows in batches of 16: 3 steps an epoch, each drawn
    assert [re.match(r"epoch 1/2 \S+ (\d)/3 loss \d\.\d{4} acc \d\.\d{4} lr 0\.002 \| left: ", b).group(1)
            for b in bars] == ["1", "2", "3"]
    assert bars[0].endswith("left: ?")  # no pace yet after the first step
    assert re.search(r"left: epoch \d:\d\d, run \d:\d\d$", bars[-1])
    assert sum(bool(EPOCH_LINE.match(d)) for d in draws) == 2  # each epoch ends in its line, kept


def test_quiet_prints_no_progress(train, monkeypatch):
    monkeypatch.setattr(progress, "is_terminal", lambda stream: True)
    assert train("-q").stderr == ""


def test_clock():
    assert [progress.clock(s) for s in (0, 59.6, 61, 3600, 3725)] == ["0:00", "1:00", "1:01", "1:00:00",
                                                                        "1:02:05"]
