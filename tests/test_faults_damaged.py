"""The fault suite, second round: files kagglekit wrote itself, read back after damage, and data that
cannot train a classifier. A damaged parse cache is rebuilt from its CSV without a word; every other case
exits non-zero with one `Error:` line naming the problem and the fix, no traceback, nothing half-written
and every earlier output byte for byte as it was (the harness of test_faults.py). What must keep working
is at the end."""
import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from cli_helpers import error_line, run
from kagglekit import data, kernel_main, submission
from kagglekit.config import preset
from kagglekit.errors import DamagedFileError
from kagglekit.nn.network import Network, build_network
from kagglekit.nn.registry import LAYERS, build_layer
from kagglekit.npz import read_npz
from test_faults import Case, snapshot, trained_run, workspace  # noqa: F401 (fixtures)

RETRAIN = "retrain it with `kagglekit train`"
TRAIN = ("train", "-p", "{d}", "--preset", "quick", "--epochs", "1", "--name", "again")
PREDICT = ("predict", "{model}", "-p", "{d}", "-o", "out.csv")


def _npz(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _lying_member(shape, descr="|u1"):
    """An .npy whose header asks for `shape` while holding 16 bytes."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue() + bytes(16)


def _zip(members, method=zipfile.ZIP_STORED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def _flip(good, at):
    """good with one byte changed `at` bytes before the end of its first member's data: a bad CRC."""
    with zipfile.ZipFile(io.BytesIO(good)) as zf:
        info = zf.infolist()[0]
    end = info.header_offset + 30 + len(info.filename) + len(info.extra) + info.compress_size
    damaged = bytearray(good)
    damaged[end - at] ^= 0xFF
    return bytes(damaged)


def _member(good, name):
    with zipfile.ZipFile(io.BytesIO(good)) as zf:
        return zf.read(name)


def _members(good):
    with zipfile.ZipFile(io.BytesIO(good)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


# --- damaged parse caches: rebuilt from the CSV, the command succeeds --------------------------------
# Each damage maps (the good cache's bytes, its arrays) to the bytes written over it.
CACHE_DAMAGE = {
    "zero-length": lambda good, a: b"",
    "cut-at-1": lambda good, a: good[:1],
    "cut-in-local-header": lambda good, a: good[:20],
    "cut-at-a-third": lambda good, a: good[:len(good) // 3],
    "cut-at-half": lambda good, a: good[:len(good) // 2],
    "cut-in-directory": lambda good, a: good[:-30],
    "cut-last-byte": lambda good, a: good[:-1],
    "garbage": lambda good, a: bytes(np.random.default_rng(0).integers(0, 256, len(good), dtype=np.uint8)),
    "zeros": lambda good, a: bytes(len(good)),
    "text": lambda good, a: b"not a cache at all\n",
    "bad-crc-in-values": lambda good, a: _flip(good, 5),
    "values-int64": lambda good, a: _npz(values=a["values"].astype(np.int64), fingerprint=a["fingerprint"]),
    "values-float32": lambda good, a: _npz(values=a["values"].astype(np.float32), fingerprint=a["fingerprint"]),
    "values-a-column-short": lambda good, a: _npz(values=a["values"][:, 1:], fingerprint=a["fingerprint"]),
    "values-flat": lambda good, a: _npz(values=a["values"].ravel(), fingerprint=a["fingerprint"]),
    "values-no-rows": lambda good, a: _npz(values=a["values"][:0], fingerprint=a["fingerprint"]),
    "no-values": lambda good, a: _npz(fingerprint=a["fingerprint"]),
    "no-fingerprint": lambda good, a: _npz(values=a["values"]),
    "other-names": lambda good, a: _npz(pixels=a["values"], stamp=a["fingerprint"]),
    "fingerprint-float": lambda good, a: _npz(values=a["values"], fingerprint=a["fingerprint"].astype(float)),
    "fingerprint-short": lambda good, a: _npz(values=a["values"], fingerprint=a["fingerprint"][:2]),
    "pickled-values": lambda good, a: _npz(values=np.array([a["values"]], dtype=object), fingerprint=a["fingerprint"]),
    "header-asks-for-terabytes": lambda good, a: _zip({"values.npy": _lying_member((10 ** 12, 785)),
                                                       "fingerprint.npy": _member(good, "fingerprint.npy")}),
    "header-asks-for-less": lambda good, a: _zip({"values.npy": _lying_member((2, 3)),
                                                  "fingerprint.npy": _member(good, "fingerprint.npy")}),
    "bzip2-member": lambda good, a: _zip(_members(good), zipfile.ZIP_BZIP2),
    "no-npy-members": lambda good, a: _zip({"values.txt": b"1,2,3", "fingerprint.txt": b"1"}),
}
CACHE_CASES = [("train.csv", name) for name in CACHE_DAMAGE] + [
    ("train.csv", "labels-out-of-range"),
    *[("test.csv", name) for name in ("zero-length", "cut-at-half", "garbage", "bad-crc-in-values",
                                      "values-a-column-short", "values-int64", "header-asks-for-terabytes")]]


def _labels_out_of_range(good, arrays):
    values = arrays["values"].copy()
    values[:, 0] = 200
    return _npz(values=values, fingerprint=arrays["fingerprint"])


@pytest.mark.parametrize("csv, damage", CACHE_CASES, ids=[f"{c}-{d}" for c, d in CACHE_CASES])
def test_a_damaged_cache_is_rebuilt_without_a_word(workspace, csv, damage):
    ws = workspace
    path = ws.csv(csv)
    expected = data._read_checked(path, data.HEADERS[csv])
    (data.train_pixels if csv == "train.csv" else data.test_pixels)(path)  # writes the good cache
    cache = ws.data / f".{csv}.kkcache.npz"
    good = cache.read_bytes()
    with np.load(cache) as saved:
        arrays = dict(saved)
    change = _labels_out_of_range if damage == "labels-out-of-range" else CACHE_DAMAGE[damage]
    cache.write_bytes(change(good, arrays))
    before = snapshot(ws.root)

    result = run(*[a.format(d="d", model="runs/model") for a in (TRAIN if csv == "train.csv" else PREDICT)])

    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "Error" not in result.output
    saved = read_npz(cache)  # rebuilt: the CSV's values under the CSV's fingerprint
    np.testing.assert_array_equal(saved["values"], expected)
    np.testing.assert_array_equal(saved["fingerprint"], data._fingerprint(path))
    assert data.is_cached(path)
    after = snapshot(ws.root)
    assert all(after[p] == content for p, content in before.items() if p.name != cache.name)
    assert not [p for p in ws.root.rglob("*") if p.name.endswith(".tmp")]


def test_a_damaged_test_cache_predicts_what_a_good_one_does(workspace):
    assert run("predict", "runs/model", "-p", "d", "-o", "good.csv").exit_code == 0
    cache = workspace.data / ".test.csv.kkcache.npz"
    cache.write_bytes(cache.read_bytes()[:100])
    assert run("predict", "runs/model", "-p", "d", "-o", "again.csv").exit_code == 0
    assert (workspace.root / "again.csv").read_bytes() == (workspace.root / "good.csv").read_bytes()


# --- model files whose header or arrays do not make sense ---------------------------------------------
def _altered(change):
    """A setup writing bad.npz: the trained model's arrays and header after change(arrays, header)."""
    def setup(ws):
        with np.load(ws.model) as saved:
            arrays = dict(saved)
        header = json.loads(str(arrays.pop("__header__")))
        change(arrays, header)
        np.savez(ws.root / "bad.npz", __header__=arrays.pop("__header__", np.array(json.dumps(header))), **arrays)
    return setup


def _set(where, value):
    """change() setting header[where...] (a path of keys) to value."""
    def change(arrays, header):
        node = header
        for key in where[:-1]:
            node = node[key]
        node[where[-1]] = value
    return change


def _resize_first(n):
    """change(): the first dense layer gives n units, its arrays with it (the next one still takes 64)."""
    def change(arrays, header):
        header["layers"][0]["n_out"] = n
        arrays["0.W"] = np.zeros((784, n), np.float32)
        arrays["0.b"] = np.zeros(n, np.float32)
    return change


def _classes(n):
    def change(arrays, header):
        header["layers"][-1]["n_out"] = n
        arrays["2.W"] = np.zeros((64, n), np.float32)
        arrays["2.b"] = np.zeros(n, np.float32)
    return change


def _array(name, value):
    def change(arrays, header):
        arrays[name] = value(arrays[name])
    return change


def _poke(name, index, value):
    def change(arrays, header):
        arrays[name] = arrays[name].copy()
        arrays[name][index] = value
    return change


def _image_layer_first(arrays, header):
    """A max pooling before the first dense layer, which then sees no image; the arrays move up one."""
    header["layers"].insert(0, {"type": "maxpool2d", "size": 2})
    for key in sorted(arrays, reverse=True):
        i, rest = key.split(".", 1)
        arrays[f"{int(i) + 1}.{rest}"] = arrays.pop(key)


def _drop(name):
    return lambda arrays, header: arrays.pop(name)


def _raw_header(text):
    def change(arrays, header):
        arrays["__header__"] = np.array(text)
    return change


def _bn_model(change=None):
    """A setup writing bad.npz: an MLP with batch norm (dense16,bn), then change(arrays, header)."""
    def setup(ws):
        config = preset("quick").override(arch="dense16,bn", epochs=1)
        build_network(config, np.random.default_rng(0)).save(ws.root / "bad.npz")
        if change is not None:
            with np.load(ws.root / "bad.npz") as saved:
                arrays = dict(saved)
            header = json.loads(str(arrays.pop("__header__")))
            change(arrays, header)
            np.savez(ws.root / "bad.npz", __header__=np.array(json.dumps(header)), **arrays)
    return setup


def _bytes_of_model(content):
    def setup(ws):
        good = ws.model.read_bytes()
        (ws.root / "bad.npz").write_bytes(content(good))
    return setup


def _predict_bad(name, says, setup):
    return Case(f"model-{name}", ("predict", "bad.npz", "-p", "{d}", "-o", "out.csv"), ("bad.npz", *says, RETRAIN),
                setup)


MODEL_CASES = [
    # --- the layers' shapes -------------------------------------------------------------------------
    _predict_bad("layers-do-not-chain", ("its layers do not chain: layer 2 (dense)", "expects 64 input features"),
                 _altered(_resize_first(32))),
    _predict_bad("no-layers", ("its header lists no layers",), _altered(_set(["layers"], []))),
    _predict_bad("layers-not-a-list", ("its header lists no layers",), _altered(_set(["layers"], {"0": 1}))),
    _predict_bad("layer-not-an-object", ("layer 1 is a JSON str, not an object",),
                 _altered(_set(["layers", 1], "relu"))),
    _predict_bad("unknown-layer-type", ("layer 1: unknown layer 'gelu'", "known: dense"),
                 _altered(_set(["layers", 1, "type"], "gelu"))),
    _predict_bad("layer-477-gib", ("layer 0 W has shape (784, 64), its architecture says (784, 160000000000)",),
                 _altered(_set(["layers", 0, "n_out"], 160_000_000_000))),
    _predict_bad("layer-negative-size", ("layer 0 W has shape (784, 64), its architecture says (784, -64)",),
                 _altered(_set(["layers", 0, "n_out"], -64))),
    _predict_bad("layer-size-not-an-integer", ("its architecture says (784, '64')",),
                 _altered(_set(["layers", 0, "n_out"], "64"))),
    _predict_bad("layer-size-a-float", ("its architecture says (784, 64.0)",),
                 _altered(_set(["layers", 0, "n_out"], 64.0))),
    _predict_bad("layer-field-missing", ("layer 0 (dense) lacks a field its kind needs",),
                 _altered(lambda arrays, header: header["layers"][0].pop("n_in"))),
    _predict_bad("layer-field-unknown", ("layer 1 (relu) cannot be built: TypeError",),
                 _altered(_set(["layers", 1, "rng"], 5))),
    _predict_bad("array-missing", ("layer 0 b is missing",), _altered(_drop("0.b"))),
    _predict_bad("array-reshaped", ("layer 2 W has shape (640,), its architecture says (64, 10)",),
                 _altered(_array("2.W", lambda w: w.ravel()))),
    _predict_bad("no-pixel-layer", ("it has no dense or reshape layer to take the pixels",),
                 _altered(lambda arrays, header: header.update(layers=[{"type": "relu"}]))),
    _predict_bad("image-layer-first", ("its layers do not chain: layer 0 (maxpool2d)",),
                 _altered(_image_layer_first)),
    # --- the classes --------------------------------------------------------------------------------
    _predict_bad("eleven-classes", ("its last layer gives (11,) outputs, not one per digit (10)",),
                 _altered(_classes(11))),
    _predict_bad("one-class", ("its last layer gives (1,) outputs",), _altered(_classes(1))),
    # --- the numbers --------------------------------------------------------------------------------
    _predict_bad("nan-weight", ("layer 0 W holds NaN or infinite values",), _altered(_poke("0.W", (3, 5), np.nan))),
    _predict_bad("inf-bias", ("layer 2 b holds NaN or infinite values",), _altered(_poke("2.b", 7, -np.inf))),
    _predict_bad("integer-weights", ("layer 0 W holds int64 values, not floating point",),
                 _altered(_array("0.W", lambda w: w.astype(np.int64)))),
    _predict_bad("text-weights", ("layer 2 b holds <U", "not floating point"),
                 _altered(_array("2.b", lambda b: b.astype(str)))),
    _predict_bad("nan-running-variance", ("layer 2 buffers.running_var holds NaN or infinite values",),
                 _bn_model(_poke("2.buffers.running_var", 2, np.nan))),
    _predict_bad("negative-running-variance", ("layer 2 buffers.running_var holds negative values",),
                 _bn_model(_poke("2.buffers.running_var", 0, -1.0))),
    _predict_bad("batchnorm-eps-negative", ("layer 2: batchnorm eps must be a number in (0, 1), got -2.0",),
                 _bn_model(_set(["layers", 2, "eps"], -2.0))),
    _predict_bad("batchnorm-eps-text", ("batchnorm eps must be a number in (0, 1), got 'x'",),
                 _bn_model(_set(["layers", 2, "eps"], "x"))),
    _predict_bad("batchnorm-momentum-nan", ("batchnorm momentum must be a number in [0, 1], got nan",),
                 _bn_model(_set(["layers", 2, "momentum"], float("nan")))),
    # --- the header and meta ------------------------------------------------------------------------
    _predict_bad("meta-a-list", ("its meta is a JSON list, not an object",), _altered(_set(["meta"], [1, 2]))),
    _predict_bad("meta-a-string", ("its meta is a JSON str, not an object",), _altered(_set(["meta"], "x"))),
    _predict_bad("config-a-number", ("carries a training config that does not read back (a config must be an object of fields, got int)",),
                 _altered(_set(["meta", "config"], 5))),
    _predict_bad("config-lr-text", ("carries a training config that does not read back",),
                 _altered(_set(["meta", "config", "lr"], "fast"))),
    _predict_bad("config-unknown-field", ("carries a training config that does not read back (unknown config",),
                 _altered(_set(["meta", "config", "colour"], "red"))),
    _predict_bad("header-a-list", ("is corrupt or not a kagglekit model (its header is a JSON list, not an object)",),
                 _altered(_raw_header("[1, 2]"))),
    _predict_bad("header-not-json", ("is corrupt or not a kagglekit model (its header is not JSON",),
                 _altered(_raw_header("{'format': "))),
    _predict_bad("header-deeply-nested", ("its header is not JSON: RecursionError",),
                 _altered(_raw_header("[" * 100_000 + "]" * 100_000))),
    _predict_bad("header-a-number-array", ("it holds no kagglekit header",),
                 _altered(lambda arrays, header: arrays.update(__header__=np.arange(3)))),
    # --- the bytes ----------------------------------------------------------------------------------
    *[_predict_bad(f"cut-{where}", ("is corrupt or not a kagglekit model",), _bytes_of_model(cut))
      for where, cut in [("to-nothing", lambda b: b""), ("at-10", lambda b: b[:10]),
                         ("at-a-third", lambda b: b[:len(b) // 3]), ("in-directory", lambda b: b[:-30]),
                         ("last-byte", lambda b: b[:-1])]],
    _predict_bad("bad-crc", ("is corrupt or not a kagglekit model (BadZipFile)",),
                 _bytes_of_model(lambda b: _flip(b, 3))),
    _predict_bad("array-header-asks-for-terabytes", ("array '0.W' says (784, 1000000000000) float32",
                                                     "but holds 16"),
                 _bytes_of_model(lambda b: _zip({**_members(b), "0.W.npy": _lying_member((784, 10 ** 12), "<f4")}))),
    _predict_bad("bzip2", ("packed as np.savez never packs",),
                 _bytes_of_model(lambda b: _zip(_members(b), zipfile.ZIP_BZIP2))),
]


# --- data that cannot train a classifier ---------------------------------------------------------------
def _labels(labels):
    """A setup giving train.csv's rows the labels labels(n) (n: its row count)."""
    def setup(ws):
        frame = pd.read_csv(ws.csv("train.csv"))
        frame["label"] = labels(len(frame))
        frame.to_csv(ws.csv("train.csv"), index=False)
    return setup


ONE_DIGIT = ("train.csv holds only the digit 3 (60 rows)", "at least 2 digits", "kagglekit download")
# 59 rows of 3 and one of 5: the holdout takes every fifth row of the digit-sorted rows, the 5 among them
LONE_FIVE = _labels(lambda n: [3] * (n - 1) + [5])
DATA_CASES = [
    Case("data-one-digit-train", ("train", "-p", "{d}", "--name", "one"), ONE_DIGIT, _labels(lambda n: [3] * n)),
    Case("data-one-digit-run", ("run", "-p", "{d}", "--preset", "quick", "--epochs", "1"), ONE_DIGIT,
         _labels(lambda n: [3] * n)),
    Case("data-one-digit-ensemble", ("train", "-p", "{d}", "--preset", "quick", "--members", "2", "--name", "ens"),
         ONE_DIGIT, _labels(lambda n: [3] * n)),
    Case("data-one-digit-cross-validation", ("evaluate", "{model}", "-p", "{d}", "--folds", "3"), ONE_DIGIT,
         _labels(lambda n: [3] * n)),
    Case("data-all-zeros", ("train", "-p", "{d}"), ("holds only the digit 0 (60 rows)",), _labels(lambda n: [0] * n)),
    Case("data-lone-row-held-out", ("train", "-p", "{d}", "--preset", "quick"),
         ("train.csv holds the digits 3 (59 rows), 5 (1 row)", "holding out 12 of its 60 rows for validation leaves "
          "only the digit 3 to train on", "add rows of the other digits"), LONE_FIVE),
    Case("data-lone-row-in-a-fold", ("evaluate", "{model}", "-p", "{d}", "--folds", "5"),
         ("holds the digits 3 (59 rows), 5 (1 row)", "holding out fold 5 of 5 leaves only the digit 3"), LONE_FIVE),
]


# --- memory: submissions refused while streaming, before pandas holds them --------------------------------
def _sub_bytes(content):
    return lambda ws: (ws.root / "sub.csv").write_bytes(content)


def _rows(ids, label="{}"):
    return "ImageId,Label\n" + "".join(f"{i},{label.format(i % 10)}\n" for i in ids)


MEMORY_CASES = [
    Case("validate-far-too-many-rows", ("validate", "sub.csv", "-p", "{d}"),
         ("sub.csv: at least", "rows, expected 20", "predict the whole test.csv"),
         _sub_bytes(_rows(range(1, 300_001)).encode())),
    Case("validate-far-too-many-blank-lines", ("validate", "sub.csv", "-p", "{d}"),
         ("blank lines, more than the 20 rows it should hold", "remove them"),
         _sub_bytes(_rows(range(1, 21)).encode() + b"\n" * 2_000_000)),
    Case("validate-crlf-blank-lines", ("validate", "sub.csv", "-p", "{d}"), ("blank lines",),
         _sub_bytes(_rows(range(1, 21)).encode() + b" ,\r\n" * 500_000)),
    Case("validate-one-enormous-line", ("validate", "sub.csv", "-p", "{d}"),
         ("bytes is too much for 20 rows of ImageId,Label", "kagglekit predict"),
         _sub_bytes(b"ImageId,Label\n1," + b"7" * 3_000_000 + b"\n")),
    Case("validate-padded-rows", ("validate", "sub.csv", "-p", "{d}"), ("bytes is too much for 20 rows",),
         _sub_bytes(_rows(range(1, 21), "{}" + " " * 100_000).encode())),
    Case("validate-label-of-5000-digits", ("validate", "sub.csv", "-p", "{d}"),
         ("Label has 1 value outside 0..9, first at line 5: 99999999999999999999... (5,000 characters)",),
         _sub_bytes(_rows(range(1, 21)).replace("\n4,4\n", "\n4," + "9" * 5000 + "\n").encode())),
    Case("validate-id-of-5000-letters", ("validate", "sub.csv", "-p", "{d}"),
         ("ImageId has 1 value not written as an integer, first at line 3: 'xxxxxxxxxxxxxxxxxxxx'... "
          "(5,000 characters)",), _sub_bytes(_rows(range(1, 21)).replace("\n2,", "\n" + "x" * 5000 + ",").encode())),
    Case("score-far-too-many-rows", ("score", "sub.csv", "--solution", "sol.csv"),
         ("sub.csv: at least", "rows, expected 20"),
         lambda ws: [(ws.root / "sub.csv").write_text(_rows(range(1, 300_001))),
                     (ws.root / "sol.csv").write_text(_rows(range(1, 21)))]),
]

CASES = MODEL_CASES + DATA_CASES + MEMORY_CASES


@pytest.fixture
def parse_guard(monkeypatch):
    """pandas may parse any CSV but sub.csv: a too-large submission is refused before it is parsed."""
    read_csv = pd.read_csv

    def guarded(path, *args, **kwargs):
        assert "sub.csv" not in str(path) or (path.stat().st_size < submission.CHUNK), "sub.csv parsed whole"
        return read_csv(path, *args, **kwargs)
    monkeypatch.setattr(submission.pd, "read_csv", guarded)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fault(case, workspace, parse_guard):
    ws = workspace
    case.setup(ws)
    before = snapshot(ws.root)
    result = run(*[str(a).format(d="d", model="runs/model") for a in case.args])
    line = error_line(result)
    for fragment in case.says:
        assert fragment in line, line
    assert len(line) < 400, line  # one readable line, whatever the file held
    after = snapshot(ws.root)
    for path, content in before.items():  # earlier outputs intact
        assert after.get(path) == content, f"{path} changed or vanished"
    new = {p for p in after if p not in before and not p.name.endswith(".kkcache.npz")}
    assert new == set(), f"left behind: {sorted(map(str, new))}"
    assert not [p for p in ws.root.rglob("*") if p.name.startswith(".") and ("tmp" in p.name or "-new-" in p.name)]


def test_the_suite_names_each_case_once():
    names = [c.name for c in CASES]
    assert len(set(names)) == len(names) and len(CASES) >= 50 and len(set(CACHE_CASES)) == len(CACHE_CASES) >= 30


def test_the_kernel_refuses_one_digit_in_one_line(workspace, capsys):
    _labels(lambda n: [7] * n)(workspace)
    with pytest.raises(SystemExit) as stopped:
        kernel_main.run(["--input", str(workspace.data), "--output", str(workspace.root / "working")])
    assert str(stopped.value) == ("Error: train.csv holds only the digit 7 (60 rows): a classifier needs rows of at "
                                  "least 2 digits to tell apart; use the competition's train.csv (kagglekit download)")
    assert not (workspace.root / "working").exists()


# --- what must keep working ------------------------------------------------------------------------------
def test_two_digits_are_enough_to_train(workspace):
    _labels(lambda n: [1, 7] * (n // 2))(workspace)
    result = run("train", "-p", "d", "--preset", "quick", "--epochs", "1", "--name", "two")
    assert result.exit_code == 0, result.output


def test_a_valid_submission_over_a_chunk_is_checked_whole(workspace):
    n = 150_000
    (workspace.root / "sample.csv").write_text(_rows(range(1, n + 1), "0"))
    (workspace.root / "sub.csv").write_text(_rows(range(n, 0, -1)) + "\n" * 1000)
    assert (workspace.root / "sub.csv").stat().st_size > submission.CHUNK
    result = run("validate", "sub.csv", "--sample", "sample.csv")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"sub.csv: valid submission, {n} rows\n"


def test_leading_zeros_are_still_read_as_the_integer_they_pad(workspace):
    _sub_bytes(_rows(range(1, 21)).replace("\n4,4\n", "\n4," + "0" * 5000 + "4\n").encode())(workspace)
    result = run("validate", "sub.csv", "-p", "d")
    assert result.exit_code == 0 and result.stdout == "sub.csv: valid submission, 20 rows\n", result.output


@pytest.mark.parametrize("seed", range(40))
def test_the_streaming_count_agrees_with_a_line_by_line_count(tmp_path, monkeypatch, seed):
    """Chunks of 1 to 8 bytes cut every line somewhere: the counts must still be those of whole lines."""
    rng = np.random.default_rng(seed)
    monkeypatch.setattr(submission, "CHUNK", int(rng.integers(1, 9)))
    monkeypatch.setattr(submission, "ROW_BYTES", 10 ** 6)
    pieces = ["12,3", "", " ", ",", " , ", '""', "\r", "7,x", '"4",5', "\t"]
    lines = ["ImageId,Label", *(pieces[i] for i in rng.integers(0, len(pieces), int(rng.integers(0, 30))))]
    text = "\n".join(lines) + ("\n" if rng.random() < 0.5 else "")
    path = tmp_path / "sub.csv"
    path.write_text(text)
    complete = text.split("\n")[:-1]  # only lines that end count: the last may still go on
    rows = sum(1 for line in complete if line.strip(" \t\r,\"")) - 1
    blank = len(complete) - rows - 1
    expected = int(rng.integers(0, 12))
    if path.stat().st_size <= submission.CHUNK:
        return
    if rows > expected or blank > expected:
        with pytest.raises(submission.SubmissionError, match="rows, expected|blank lines"):
            submission._check_size(path, expected)
    else:
        submission._check_size(path, expected)


def test_each_layer_kind_declares_the_arrays_it_builds():
    specs = {"dense": {"n_in": 5, "n_out": 3, "init": "he"}, "conv2d": {"in_channels": 2, "out_channels": 4,
             "kernel": 3, "padding": 1, "stride": 1, "init": "he"}, "batchnorm": {"features": 6, "momentum": 0.1,
             "eps": 1e-5}, "dropout": {"rate": 0.5}, "reshape": {"shape": [1, 2, 2]}, "maxpool2d": {"size": 2}}
    for kind, cls in LAYERS.items():
        spec = {"type": kind, **specs.get(kind, {})}
        layer = build_layer(spec)
        built = {**{k: v.shape for k, v in layer.params.items()},
                 **{f"buffers.{k}": v.shape for k, v in layer.buffers.items()}}
        assert cls.shapes(**specs.get(kind, {})) == built, kind


def test_a_model_that_reads_back_is_the_model_saved(workspace):
    """The checks change nothing they pass: the loaded arrays are the saved ones, bit for bit."""
    net = Network.load(workspace.model)
    with np.load(workspace.model) as saved:
        for i, layer in enumerate(net.layers):
            for k, v in layer.params.items():
                assert v.dtype == np.float32 and v.tobytes() == saved[f"{i}.{k}"].tobytes()


def test_a_model_with_an_altered_data_record_still_evaluates(workspace):
    _altered(_set(["meta", "data"], [1, 2]))(workspace)
    (workspace.root / "runs" / "model" / "model.npz").write_bytes((workspace.root / "bad.npz").read_bytes())
    result = run("evaluate", "runs/model", "-p", "d")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name, content, why", [
    ("missing", None, "not found"),
    ("empty", b"", "BadZipFile"),
    ("pickle", _npz(a=np.array([{}], dtype=object)), "array 'a' holds Python objects"),
    ("short", _zip({"a.npy": _lying_member((100,))}), "array 'a' says (100,) uint8, 100 bytes, but holds 16"),
    ("format-3", _zip({"a.npy": b"\x93NUMPY\x03\x00" + bytes(20)}), "array 'a' is in .npy format (3, 0)"),
])
def test_read_npz_names_the_damage(tmp_path, name, content, why):
    path = tmp_path / "x.npz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DamagedFileError) as e:
        read_npz(path)
    assert e.value.why.startswith(why) and e.value.path == path
    assert str(e.value).startswith(f"{path} is damaged (")


def test_read_npz_reads_what_np_savez_wrote_and_just_the_names_asked(tmp_path):
    arrays = {"a": np.arange(6, dtype=np.int16).reshape(2, 3), "b": np.array("text"), "c": np.zeros((0, 4))}
    np.savez(tmp_path / "x.npz", **arrays)
    np.savez_compressed(tmp_path / "z.npz", **arrays)
    for path in (tmp_path / "x.npz", tmp_path / "z.npz"):
        got = read_npz(path)
        assert got.keys() == arrays.keys()
        for k in arrays:
            np.testing.assert_array_equal(got[k], arrays[k])
            assert got[k].dtype == arrays[k].dtype
    assert read_npz(tmp_path / "x.npz", ("b",)).keys() == {"b"}
    with pytest.raises(DamagedFileError, match="it has no array 'd'"):
        read_npz(tmp_path / "x.npz", ("a", "d"))
