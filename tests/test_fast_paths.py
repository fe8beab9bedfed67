"""The hot path's shortcuts must compute exactly what the plain NumPy formulas compute."""
import os
import signal
import sys

import numpy as np
import pytest

from kagglekit.nn.augment import bounding_box_order
from kagglekit.config import TrainConfig
from kagglekit.data import to_float
from kagglekit.errors import TrainingError
from kagglekit.nn.layers import RowBlocks, column_sums, pixel_codes, t_matmul
from kagglekit.nn.losses import SoftmaxCrossEntropy, softmax
from kagglekit.nn.network import build_network
from kagglekit.fast.fullbatch import FullBatch, packed
from kagglekit.nn.train import blas_threads, evaluate_loss_acc


def sparse_digits(n=300, seed=0):
    """Images with a random lit rectangle each, so rows share blank borders as real digits do."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 28, 28))
    for img in x:
        top, left = rng.integers(0, 14, 2)
        img[top:top + rng.integers(5, 14), left:left + rng.integers(5, 14)] = rng.random()
    return x.reshape(n, 784), rng.integers(0, 10, n)


def test_row_blocks_products_equal_dense_ones():
    x, _ = sparse_digits()
    rng = np.random.default_rng(1)
    order = bounding_box_order(x)
    blocks = RowBlocks(x, order, rows=64)
    assert sum(len(cols) for _, _, cols, *_ in blocks.blocks) < 784 * len(blocks.blocks)  # columns were dropped
    w = rng.standard_normal((784, 10))
    np.testing.assert_allclose(blocks @ w, x[order] @ w, rtol=1e-10)
    g = rng.standard_normal((len(x), 10))
    np.testing.assert_allclose(blocks.t_matmul(g), x[order].T @ g, rtol=1e-10, atol=1e-12)


def pixel_digits(n=300, seed=0, dtype=np.float32):
    """sparse_digits as uint8 pixels scaled to [0, 1] the way data.to_float does, in dtype."""
    x, y = sparse_digits(n, seed)
    return np.rint(x * 255).astype(np.uint8).astype(dtype) / dtype(255), y


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_blocks_of_pixels_keep_one_byte_codes_and_the_same_products(dtype):
    x, _ = pixel_digits(dtype=dtype)
    rng = np.random.default_rng(4)
    order = bounding_box_order(x)
    blocks = RowBlocks(x, order, rows=64)
    assert blocks.scale is not None and all(v.dtype == np.uint8 for *_, v, _ in blocks.blocks)
    w = rng.standard_normal((784, 10)).astype(dtype)
    g = rng.standard_normal((len(x), 10)).astype(dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(blocks @ w, x[order] @ w, rtol=tol, atol=tol)
    np.testing.assert_allclose(blocks.t_matmul(g), x[order].T @ g, rtol=tol, atol=tol)


def test_pixel_codes_only_for_exact_multiples_of_one_255th():
    pixels = np.array([[0, 1, 128, 255]], np.uint8)
    np.testing.assert_array_equal(pixel_codes(to_float(pixels)), pixels)
    for bad in ([[0.5]], [[2.0]], [[-1 / 255]], [[np.nan]]):
        assert pixel_codes(np.array(bad, np.float32)) is None


def test_bounding_box_order_is_a_permutation():
    x, _ = sparse_digits(50)
    assert sorted(bounding_box_order(x)) == list(range(50))


@pytest.mark.parametrize("n, a, b, order", [(20500, 10, 10, "F"), (5000, 3, 7, "C"), (300, 784, 16, "C")])
def test_t_matmul_equals_the_plain_product(n, a, b, order):
    rng = np.random.default_rng(6)
    x = np.asarray(rng.standard_normal((n, a)), order=order)
    g = np.asarray(rng.standard_normal((n, b)), order=order)
    np.testing.assert_allclose(t_matmul(x, g, np.empty((a, b))), x.T @ g, rtol=1e-10, atol=1e-10)


def test_column_sums():
    a = np.random.default_rng(2).standard_normal((1000, 10))
    np.testing.assert_allclose(column_sums(a), a.sum(axis=0), rtol=1e-10)


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
    import kagglekit.fast.fullbatch
    x, y = pixel_digits()
    net = build_network(TrainConfig(hidden=(10,)), np.random.default_rng(0))
    fulls = []
    for threads in (1, 2):  # other tests may leave daemon threads behind (tqdm's monitor), so set the count
        monkeypatch.setattr(kagglekit.fast.fullbatch.threading, "active_count", lambda: threads)
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
        pid = full.workers.pipes[0][0]
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(TrainingError, match="worker process .* failed"):
            full.step()
    finally:
        full.close()


def test_validation_on_packed_rows_equals_validation_on_the_array():
    x, y = pixel_digits()
    net = build_network(TrainConfig(hidden=(10,), init="uniform"), np.random.default_rng(5))
    loss, acc = evaluate_loss_acc(net, *packed(x, y))
    expected_loss, expected_acc = evaluate_loss_acc(net, x, y, batch_size=128)
    assert loss == pytest.approx(expected_loss, rel=1e-5) and acc == expected_acc


def test_loss_counts_correct_rows_like_argmax_even_with_ties():
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((200, 10)).astype(np.float32)
    labels = rng.integers(0, 10, 200)
    ce = SoftmaxCrossEntropy()
    ce.forward(logits, labels)
    assert ce.correct() == int((logits.argmax(axis=1) == labels).sum())
    logits[:50] = 0.0  # every class tied: argmax picks class 0
    ce.forward(logits, labels)
    assert ce.correct() == int((logits.argmax(axis=1) == labels).sum())
    np.testing.assert_allclose(softmax(logits[:1]), np.full((1, 10), 0.1), rtol=1e-6)


def test_blas_threads_limits_then_restores_the_count():
    from kagglekit.nn.train import _openblas_thread_calls
    calls = _openblas_thread_calls()
    if calls is None:
        pytest.skip("NumPy is not linked against OpenBLAS here")
    get, _ = calls
    before = get()
    with blas_threads(1):
        assert get() == 1
    assert get() == before
