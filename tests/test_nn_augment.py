"""Augmentation: the affine warp against exact references (identity, np.roll shifts, np.rot90 quarter
turns, a zoomed square), its random draws, the `augment` dispatch that keeps the shift-only draws of the
`mlp` preset, which configs count as augmented, and the new settings' checks."""
import numpy as np
import pytest

from kagglekit.config import TrainConfig, preset
from kagglekit.errors import ConfigError
from kagglekit.fast.train import is_full_batch
from kagglekit.nn.augment import (TTA_SHIFTS, affine_inverse, augment, is_augmented, random_affine, random_shift,
                                   shift, warp)


def images(n=6, seed=0):
    """(n, 784) float32 noise: asymmetric, so a wrong flip, turn or offset cannot pass unseen."""
    return np.random.default_rng(seed).random((n, 784), dtype=np.float32)


def inverse(n, angle=0.0, scale=1.0, shear=0.0, dy=0.0, dx=0.0):
    return affine_inverse(*(np.full(n, v, dtype=float) for v in (angle, scale, shear, dy, dx)))


def shifted(x, dy, dx):
    """np.roll of each 28x28 image by (dy, dx), the rows and columns that wrapped around set to 0."""
    out = np.roll(x.reshape(-1, 28, 28), (dy, dx), axis=(1, 2))
    out[:, :max(dy, 0)] = out[:, 28 + min(dy, 0):] = 0
    out[:, :, :max(dx, 0)] = out[:, :, 28 + min(dx, 0):] = 0
    return out.reshape(-1, 784)


def test_identity_gives_the_images_back_exactly():
    x = images()
    out = warp(x, inverse(len(x)))
    assert out.dtype == np.float32 and out.shape == x.shape
    np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize("dy, dx", [(2, -3), (-1, 4), (0, 1)])
def test_whole_pixel_shift_is_roll_with_zero_fill(dy, dx):
    x = images()
    np.testing.assert_array_equal(warp(x, inverse(len(x), dy=dy, dx=dx)), shifted(x, dy, dx))


@pytest.mark.parametrize("turns", [1, 2, 3, -1])
def test_quarter_turns_are_rot90(turns):
    x = images()
    expected = np.rot90(x.reshape(-1, 28, 28), turns, axes=(1, 2)).reshape(-1, 784)
    # Sources land on grid points up to float rounding of cos/sin, so bilinear returns the pixels.
    np.testing.assert_allclose(warp(x, inverse(len(x), angle=turns * np.pi / 2)), expected, atol=1e-6)


def test_zoom_enlarges_a_centred_square_about_the_centre():
    x = np.zeros((1, 28, 28), np.float32)
    x[0, 10:18, 10:18] = 1  # 8x8, centred on 13.5
    out = warp(x.reshape(1, 784), inverse(1, scale=2.0)).reshape(28, 28)
    lit = np.argwhere(out > 0.5)
    assert lit.min(axis=0).tolist() == [6, 6] and lit.max(axis=0).tolist() == [21, 21]  # 16x16
    np.testing.assert_array_equal(out, out.T)  # still a square about the centre
    np.testing.assert_array_equal(out, out[::-1, ::-1])
    assert out[14, 14] == 1 and out[2, 2] == 0


def test_shear_slants_columns_by_row_and_sub_pixel_values_interpolate():
    x = np.zeros((1, 28, 28), np.float32)
    x[:, :, 13] = 1  # a vertical line
    out = warp(x.reshape(1, 784), inverse(1, shear=np.arctan(1 / 13.5))).reshape(28, 28)
    # Column shifts by (row - 13.5) / 13.5: a whole pixel at the top and bottom rows.
    assert out[0].argmax() == 12 and out[27].argmax() == 14
    np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-6)  # each row's ink is kept, split bilinearly
    half = warp(x.reshape(1, 784), inverse(1, dx=0.5)).reshape(28, 28)
    np.testing.assert_array_equal(half[:, 13:15], 0.5)


def test_float64_images_stay_float64():
    x = images(2).astype(np.float64)
    assert warp(x, inverse(2, angle=0.3)).dtype == np.float64


def test_random_affine_is_reproducible_and_differs_per_image():
    x = np.repeat(images(1), 50, axis=0)
    a = warp(x, random_affine(50, 15, 0.1, 10, 2, np.random.default_rng(7)))
    b = warp(x, random_affine(50, 15, 0.1, 10, 2, np.random.default_rng(7)))
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(a, axis=0)) == 50
    assert a.shape == (50, 784) and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1


@pytest.mark.parametrize("setting", [dict(rotate=20), dict(zoom=0.2), dict(shear=20), dict(shift=2)])
def test_each_draw_stays_in_its_range(setting):
    n, args = 2000, {**dict(rotate=0, zoom=0, shear=0, shift=0), **setting}
    got = random_affine(n, **args, rng=np.random.default_rng(0))
    linear, offset = got[:, :, :2], got[:, :, 2]
    if "rotate" in setting:
        angle = np.degrees(np.arctan2(linear[:, 0, 1], linear[:, 0, 0]))
        assert 19 < np.abs(angle).max() <= 20 and angle.min() < 0 < angle.max()
    if "zoom" in setting:
        scale = 1 / linear[:, 0, 0]
        assert 0.8 <= scale.min() < 0.81 and 1.19 < scale.max() <= 1.2
    if "shear" in setting:
        slant = np.degrees(np.arctan(-linear[:, 1, 0]))
        assert 19 < np.abs(slant).max() <= 20
    if "shift" in setting:
        assert 1.99 < np.abs(offset).max() <= 2 and len(np.unique(offset)) > 100  # sub-pixel


# --- the entry point the training loop calls ---------------------------------------------------
def test_shift_only_keeps_the_whole_pixel_draws_of_random_shift():
    x, config = images(20), TrainConfig(augment_shift=2)
    np.testing.assert_array_equal(augment(x, config, np.random.default_rng(3)),
                                  random_shift(x, 2, np.random.default_rng(3)))
    assert augment(x, TrainConfig(), np.random.default_rng(3)) is x


def test_affine_settings_warp_with_the_shift_folded_in():
    x, config = images(20), TrainConfig(augment_rotate=10, augment_shift=2)
    np.testing.assert_array_equal(augment(x, config, np.random.default_rng(3)),
                                  warp(x, random_affine(20, 10, 0, 0, 2, np.random.default_rng(3))))


@pytest.mark.parametrize("field", ["augment_shift", "augment_rotate", "augment_zoom", "augment_shear"])
def test_every_augment_setting_makes_a_run_augmented_and_not_full_batch(field):
    config = TrainConfig(batch_size=0, **{field: 1 if field == "augment_shift" else 0.1})
    assert is_augmented(config) and not is_full_batch(config)
    assert not is_augmented(TrainConfig()) and is_full_batch(TrainConfig(batch_size=0))
    assert not is_augmented(preset("seed")) and is_augmented(preset("mlp"))


@pytest.mark.parametrize("field, value, message", [
    ("augment_rotate", 91.0, "augment_rotate must be between 0 and 90 degrees, got 91.0"),
    ("augment_rotate", -1.0, "augment_rotate must be between 0 and 90 degrees, got -1.0"),
    ("augment_zoom", 0.6, "augment_zoom must be between 0 and 0.5, got 0.6"),
    ("augment_shear", 50.0, "augment_shear must be between 0 and 45 degrees, got 50.0"),
])
def test_bad_settings_are_quoted(field, value, message):
    with pytest.raises(ConfigError, match=f"^{message}$".replace(".", r"\.")):
        TrainConfig(**{field: value}).check()


# --- found by mutation testing: details the tests above let change ---------------------------------
def test_random_shift_moves_each_image_by_its_own_draw_in_the_docstrings_direction():
    x, rng, twin = images(40), np.random.default_rng(3), np.random.default_rng(3)
    out = random_shift(x, 2, rng)
    dy, dx = twin.integers(-2, 3, size=(2, 40))  # the draws random_shift makes, in [-2, 2]
    for i in range(40):  # moved by +dy rows (down) and +dx columns (right)
        np.testing.assert_array_equal(out[i], shifted(x[i:i + 1], dy[i], dx[i])[0])


def test_sources_far_outside_the_image_read_zero():
    # Sources up to 12 pixels above and left of the image: clipped into the zero border, never wrapped
    # round into another image's pixels.
    x = images(3)
    np.testing.assert_array_equal(warp(x, inverse(3, dy=12, dx=12)), shifted(x, 12, 12))


@pytest.mark.parametrize("angle, shear, scale", [(0.3, 0.2, 1.1), (-0.5, -0.4, 0.9)])
def test_affine_inverse_undoes_rotation_after_shear(angle, shear, scale):
    inv = affine_inverse(*(np.array([v]) for v in (angle, scale, shear, 1.5, -2.0)))[0]
    c, s = np.cos(angle), np.sin(angle)
    forward = scale * np.array([[c, -s], [s, c]]) @ np.array([[1, 0], [np.tan(shear), 1]])
    np.testing.assert_allclose(inv[:, :2] @ forward, np.eye(2), atol=1e-12)
    centre = (28 - 1) / 2
    np.testing.assert_allclose(inv @ [centre + 1.5, centre - 2.0, 1], [centre, centre], atol=1e-12)


# --- the fixed shifts of test-time augmentation -------------------------------------------------
@pytest.mark.parametrize("dy, dx", [(0, 0), (1, 0), (0, -1), (-1, 1), (2, -3)])
def test_shift_is_roll_with_zero_fill(dy, dx):
    x = images()
    np.testing.assert_array_equal(shift(x, dy, dx), shifted(x, dy, dx))
    assert shift(x, dy, dx).dtype == x.dtype


def test_shift_moves_each_image_by_its_own_amount_and_random_shift_draws_them():
    x = images(3)
    out = shift(x, np.array([1, 0, -2]), np.array([0, 3, -1]))
    for i, (dy, dx) in enumerate([(1, 0), (0, 3), (-2, -1)]):
        np.testing.assert_array_equal(out[i], shifted(x[i:i + 1], dy, dx)[0])
    dy, dx = np.random.default_rng(5).integers(-2, 3, size=(2, 3))
    np.testing.assert_array_equal(random_shift(x, 2, np.random.default_rng(5)), shift(x, dy, dx))


def test_tta_shifts_are_the_image_then_its_one_pixel_neighbours():
    assert TTA_SHIFTS[:5] == ((0, 0), (0, 1), (0, -1), (1, 0), (-1, 0))
    assert sorted(TTA_SHIFTS) == [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
