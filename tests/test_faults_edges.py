"""The fault suite at the edges of what the options accept, and of the error lines: option values that
are negative, NaN, infinite or absurdly large, `--arch` specs that parse but cannot be built (or built
only with hundreds of GiB), configs with values of the wrong type, and writes that fail on a full disk or
a read-only folder. Every case is run as test_faults.py runs its own (check_case): non-zero exit, one
`Error:` line naming the problem and the fix, no traceback, nothing left behind, earlier outputs intact."""
import errno
import io
import os
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import error_line, run
from kagglekit import files
from kagglekit.config import TrainConfig, preset
from kagglekit.errors import ConfigError
from test_faults import Case, check_case, trained_run, workspace  # noqa: F401 (fixtures)

TRAIN = ("train", "-p", "{d}", "--preset", "quick", "--epochs", "1", "--val-size", "10")

NOT_FINITE = [  # (option, value, field): every float option, each refused before anything is built
    ("--lr", "inf", "lr"), ("--lr", "nan", "lr"), ("--lr", "-inf", "lr"), ("--lr-decay", "nan", "lr_decay"),
    ("--warmup", "nan", "warmup"), ("--warmup", "inf", "warmup"), ("--weight-decay", "nan", "weight_decay"),
    ("--weight-decay", "inf", "weight_decay"), ("--dropout", "nan", "dropout"), ("--momentum", "nan", "momentum"),
    ("--label-smoothing", "inf", "label_smoothing"), ("--augment-rotate", "nan", "augment_rotate"),
    ("--augment-zoom", "inf", "augment_zoom"), ("--augment-shear", "nan", "augment_shear"),
]


def _fail_under(prefix, err, mid_write=False, unlink_fails=False):
    """A setup making writes of files under folder `prefix` fail with OSError `err`: at open, or (mid_write)
    at the first write() with no file name, as a disk that fills does; with unlink_fails, removing a file
    there fails too, as it does on a read-only file system."""
    def setup(ws):
        real_open, real_unlink = open, Path.unlink

        def failing_open(path, mode="r", *args, **kwargs):
            if not (any(m in mode for m in "wax") and str(path).startswith(prefix)):
                return real_open(path, mode, *args, **kwargs)
            if not mid_write:
                raise OSError(err, os.strerror(err), str(path))
            f = real_open(path, mode, *args, **kwargs)

            def full(*args):
                raise OSError(err, os.strerror(err))
            f.write = full
            return f

        def failing_unlink(self, missing_ok=False):
            if str(self).startswith(prefix):
                raise OSError(err, os.strerror(err), str(self))
            return real_unlink(self, missing_ok)
        ws.patch.setattr(files, "open", failing_open, raising=False)
        if unlink_fails:
            ws.patch.setattr(Path, "unlink", failing_unlink)
    return setup


CASES = [
    # --- seeds: numpy takes only non-negative ones --------------------------------------------------
    Case("seed-negative", (*TRAIN, "--seed", "-1"), ("seed must be >= 0, got -1",)),
    Case("holdout-seed-negative", (*TRAIN, "--holdout-seed", "-1"), ("holdout_seed must be >= 0, got -1",)),
    Case("ensemble-seed-negative", (*TRAIN, "--members", "2", "--seed", "-5"), ("seed must be >= 0, got -5",)),
    # --- NaN and infinity in every float option ------------------------------------------------------
    *[Case(f"{option[2:]}-{value}", (*TRAIN, option, value), (f"{field} must be a finite number, got {value}",))
      for option, value, field in NOT_FINITE],
    Case("warmup-nan-with-cosine", (*TRAIN, "--schedule", "cosine", "--warmup", "nan"),
         ("warmup must be a finite number, got nan",)),
    # --- networks too large to allocate: refused before a byte is, naming the size --------------------
    Case("arch-dense-584-gib", (*TRAIN, "--arch", "dense100000000"),
         ("'dense100000000' (#1): the network would hold 78,500,000,000 weights (292 GiB as float32)",
          "more than the 33,554,432 (128 MiB) kagglekit trains", "use fewer units")),
    Case("hidden-584-gib", (*TRAIN, "--hidden", "100000000"),
         ("hidden describes a network too large", "78,500,000,000 weights (292 GiB", "use fewer units",
          "got (100000000,)")),
    Case("arch-huge-kernel", (*TRAIN, "--arch", "conv8k100000"),
         ("'conv8k100000' (#1): the network would hold 80,000,000,008 weights", "smaller kernels")),
    Case("arch-huge-padding", (*TRAIN, "--arch", "conv64k3p1000"),
         ("'conv64k3p1000' (#1) on input (1, 28, 28): its output holds 262,699,264 values per image (1002 MiB",
          "less padding")),
    Case("arch-huge-im2col", (*TRAIN, "--arch", "conv256k3p1,conv64k5p2"),
         ("'conv64k5p2' (#2) on input (256, 28, 28): its im2col columns hold 5,017,600 values per image",
          "smaller kernels")),
    Case("arch-huge-classifier", (*TRAIN, "--arch", "conv5000k1"),
         ("the classifier: the network would hold", "use fewer filters or units before it, or pool the images")),
    Case("arch-two-thousand-digits", (*TRAIN, "--arch", "dense" + "9" * 2000),
         (f"'dense{'9' * 32}...': a number of more than 15 digits is far too large", "dense")),
    Case("arch-huge-dense-after-images", (*TRAIN, "--arch", "conv32k3p1,dense4096"),
         ("'dense4096' (#2): the network would hold", "use fewer units, or pool the images before it")),
    # --- specs in the grammar that no network can have ---------------------------------------------
    Case("arch-dropout-overflowing", (*TRAIN, "--arch", "dense8,dropout1e999"), ("dropoutR needs 0 <= R < 1",)),
    Case("arch-dropout-nan", (*TRAIN, "--arch", "dense8,dropoutnan"), ("bad --arch token 'dropoutnan'", "dense")),
    Case("arch-zero-filters", (*TRAIN, "--arch", "conv0k3"), ("'conv0k3'", "must be > 0")),
    Case("arch-zero-kernel", (*TRAIN, "--arch", "conv8k0"), ("'conv8k0'", "must be > 0")),
    Case("arch-zero-pool", (*TRAIN, "--arch", "pool0"), ("'pool0'", "must be > 0")),
    Case("arch-negative-units", (*TRAIN, "--arch", "dense-8"), ("bad --arch token 'dense-8'", "dense")),
    Case("arch-pool-larger-than-the-map", (*TRAIN, "--arch", "pool29"), ("window 29 is larger than its 28x28 input",)),
    Case("arch-kernel-larger-than-the-map", (*TRAIN, "--arch", "conv8k3,pool,conv8k14"),
         ("'conv8k14' (#3)", "kernel 14 is larger than its 13x13 input")),
    Case("arch-conv-after-dropout", (*TRAIN, "--arch", "dropout0.2,conv8k3"),
         ("conv and pool work on the image, so they come first",)),
    Case("arch-dropout-and-hidden-dropout", (*TRAIN, "--arch", "dense32", "--dropout", "0.2"),
         ("dropout goes with --hidden",)),
    # --- writes that fail: the line names the file asked for, and no option that would not help -------
    Case("train-disk-fills-in-the-run-folder", (*TRAIN, "--name", "full"),
         ("No space left on device (runs/full/checkpoint.npz): free some space on its disk",),
         _fail_under("runs/", errno.ENOSPC, mid_write=True)),
    Case("train-read-only-run-folder", (*TRAIN, "--name", "ro"),
         ("Read-only file system (runs/ro/checkpoint.npz)", "run the command in a folder you can write to"),
         _fail_under("runs/ro", errno.EROFS, unlink_fails=True)),
    Case("train-run-folder-without-permission", (*TRAIN, "--name", "locked"),
         ("Permission denied (runs/locked/checkpoint.npz)", "check its permissions"),
         _fail_under("runs/locked", errno.EACCES, unlink_fails=True)),
    Case("predict-disk-fills-on-the-output", ("predict", "{model}", "-p", "{d}", "-o", "sub/out.csv"),
         ("No space left on device (sub/out.csv): free some space on its disk",),
         _fail_under("sub/", errno.ENOSPC, mid_write=True)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_edge(case, workspace):  # noqa: F811 (the fixture)
    line = check_case(case, workspace)
    assert ".tmp" not in line and "(-o FILE, -p FOLDER)" not in line  # the file asked for, no wrong option


def test_the_edges_have_distinct_names():
    assert len({c.name for c in CASES}) == len(CASES) >= 40


# --- configs read back from files: wrong types are refused by name, not by a TypeError ----------------

@pytest.mark.parametrize("field, value, says", [
    ("lr", "0.1", "lr must be a finite number, got '0.1'"),
    ("lr", True, "lr must be a finite number, got True"),
    ("seed", 1.5, "seed must be a whole number, got 1.5"),
    ("epochs", None, "epochs must be a whole number, got None"),
    ("epochs", True, "epochs must be a whole number, got True"),
    ("holdout_seed", "3", "holdout_seed must be a whole number, got '3'"),
    ("arch", 5, "arch must be text, got 5"),
    ("activation", ["relu"], "activation must be text, got ['relu']"),
    ("hidden", ["64"], "hidden must be one or more positive sizes, e.g. --hidden 128,64, got ('64',)"),
    ("hidden", [64.0], "hidden must be one or more positive sizes, e.g. --hidden 128,64, got (64.0,)"),
    ("hidden", 64, "hidden must be one or more positive sizes, e.g. --hidden 128,64, got 64"),
])
def test_a_config_file_with_a_wrong_type_is_refused_by_field(field, value, says):
    d = preset("quick").to_dict()
    d[field] = value
    with pytest.raises(ConfigError) as e:
        TrainConfig.from_dict(d)
    assert says in str(e.value) and "\n" not in str(e.value)


def test_a_config_file_may_write_a_float_setting_as_an_integer():
    assert TrainConfig.from_dict({**preset("quick").to_dict(), "lr": 1, "warmup": 0}).lr == 1


def test_the_bound_on_weights_counts_every_layer_the_classifier_included():
    # 784·42000 + 42000 + 42000·10 + 10 = 33,390,010 weights: just under 2^25 = 33,554,432
    assert preset("quick").override(hidden=(42000,)).hidden == (42000,)
    with pytest.raises(ConfigError, match="would hold 33,755,000 weights"):  # 784·43000 + 43000: over already
        preset("quick").override(hidden=(43000,))
    with pytest.raises(ConfigError, match="the classifier: the network would hold 33,787,510 weights"):
        preset("quick").override(arch="dense42500")  # 33,362,500, then 425,010 in the classifier: over


# --- what must keep working ---------------------------------------------------------------------------

@pytest.mark.parametrize("arch", ["dropout0.2,dense64", "dropout0.5", "bn,dense8", "dropout0.3,bn,dense8"])
def test_dropout_or_bn_before_the_first_dense_trains(workspace, arch):  # noqa: F811
    result = run(*[a.format(d="d") for a in TRAIN], "--arch", arch, "--name", "first", "-q")
    assert result.exit_code == 0, result.output
    assert (workspace.root / "runs" / "first" / "model.npz").is_file()


def test_seed_zero_and_large_seeds_train(workspace):  # noqa: F811
    result = run(*[a.format(d="d") for a in TRAIN], "--seed", str(2 ** 70), "--holdout-seed", "0", "--name", "s")
    assert result.exit_code == 0, result.output


# --- atomic_write: the error names the file asked for, and its cleanup never hides it -------------------

def test_a_write_that_fails_without_a_file_name_is_given_the_target(tmp_path):
    class Full(io.RawIOBase):
        def writable(self):
            return True

        def write(self, b):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    with pytest.raises(OSError) as e:
        with files.atomic_write(tmp_path / "out.csv") as f:
            Full().write(b"x")
    assert (e.value.errno, e.value.filename) == (errno.ENOSPC, str(tmp_path / "out.csv"))
    assert list(tmp_path.iterdir()) == []


def test_a_failed_cleanup_does_not_hide_the_error(tmp_path, monkeypatch):
    def read_only(self, missing_ok=False):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
    monkeypatch.setattr(Path, "unlink", read_only)
    with pytest.raises(OSError) as e:
        with files.atomic_write(tmp_path / "model.npz", "wb") as f:
            np.savez(f, a=np.zeros(3))
            raise OSError(errno.EIO, os.strerror(errno.EIO))
    assert (e.value.errno, e.value.filename) == (errno.EIO, str(tmp_path / "model.npz"))


def test_a_rename_that_fails_names_the_target_not_the_temporary_file(tmp_path, monkeypatch):
    def replace(src, dst):
        raise OSError(errno.EACCES, os.strerror(errno.EACCES), str(src), None, str(dst))
    monkeypatch.setattr(files.os, "replace", replace)
    with pytest.raises(OSError) as e:
        with files.atomic_write(tmp_path / "out.csv") as f:
            f.write("x")
    assert e.value.filename == str(tmp_path / "out.csv") and list(tmp_path.iterdir()) == []


def test_an_error_about_another_file_keeps_its_name(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        with files.atomic_write(tmp_path / "out.csv") as f:
            f.write(open(tmp_path / "missing.csv").read())
    assert e.value.filename == str(tmp_path / "missing.csv")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permissions, so a folder cannot be read-only to it")
def test_a_really_read_only_run_folder(workspace):  # noqa: F811
    runs = workspace.root / "runs"
    runs.chmod(0o555)
    try:
        line = error_line(run(*[a.format(d="d") for a in TRAIN], "--name", "ro"))
    finally:
        runs.chmod(0o755)
    assert line.startswith("Error: Permission denied (runs/ro") and ".tmp" not in line, line
