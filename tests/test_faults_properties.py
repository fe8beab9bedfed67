"""Property-based faults (hypothesis): whatever bytes the CSV readers, the zip unpacker and the submission
validator are given, they return a correct parse or raise a KagglekitError; whatever training settings
are given, they train or are refused by a ConfigError: never another exception."""
import dataclasses
import io
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kagglekit import data
from kagglekit.archive import install_competition
from kagglekit.config import TrainConfig
from kagglekit.errors import ConfigError, KagglekitError
from kagglekit.recipe import train_model
from kagglekit.submission import check_submission

SETTINGS = settings(max_examples=int(__import__("os").environ.get("FAULT_EXAMPLES", 60)), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
HEADER = "label," + ",".join(data.PIXEL_COLUMNS[:3])  # a narrow "train.csv" keeps examples small

cells = st.one_of(st.integers(-5, 300).map(str), st.sampled_from(["", "nan", "1.5", "x", " 7", "1e2", '"3"']))
rows = st.lists(st.lists(cells, min_size=3, max_size=5).map(",".join), max_size=6)
noise = st.binary(max_size=300)


def _narrow(monkeypatch):
    """Make the readers expect 1 label + 3 pixels, so that generated rows can be complete or not."""
    monkeypatch.setitem(data.HEADERS, "train.csv", HEADER.split(","))


@SETTINGS
@given(body=rows, newline=st.sampled_from(["\n", "\r\n"]), bom=st.booleans(), tail=st.sampled_from(["", "\n"]))
def test_train_reader_parses_or_says_why(tmp_path_factory, monkeypatch, body, newline, bom, tail):
    _narrow(monkeypatch)
    path = tmp_path_factory.mktemp("csv") / "train.csv"
    text = newline.join([HEADER, *body]) + tail
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    try:
        raw = data._read_checked(path, data.HEADERS["train.csv"])
    except KagglekitError as e:
        assert "\n" not in str(e)
        return
    assert raw.dtype == np.uint8 and raw.shape[1] == 4
    # cells equal to an integer in value ("1.0", "1e2", '"3"') read as that integer
    # and a trailing comma (an empty fifth field) is no field too many
    expected = [[int(float(c.strip('"'))) for c in r.split(",")[:4]] for r in body if r.strip()]
    np.testing.assert_array_equal(raw, np.array(expected, dtype=np.int64))  # a parse is the exact integers


@SETTINGS
@given(prefix=st.sampled_from([b"", HEADER.encode() + b"\n"]), junk=noise)
def test_train_reader_on_any_bytes(tmp_path_factory, monkeypatch, prefix, junk):
    _narrow(monkeypatch)
    path = tmp_path_factory.mktemp("csv") / "train.csv"
    path.write_bytes(prefix + junk)
    try:
        raw = data._read_checked(path, data.HEADERS["train.csv"])
    except KagglekitError:
        return
    assert raw.dtype == np.uint8 and raw.shape[1] == 4 and int(raw[:, 0].max()) <= 9


@SETTINGS
@given(ids=st.lists(st.one_of(st.integers(-2, 8).map(str), st.sampled_from(["", "1.0", "a", "08", "+3"])),
                    max_size=8),
       labels=st.lists(st.one_of(st.integers(-1, 11).map(str), st.sampled_from(["", "7.0", "x"])), max_size=8),
       header=st.sampled_from(["ImageId,Label", "Label,ImageId", "Id,Label", "ImageId,Label,Extra"]),
       junk=st.one_of(st.just(b""), noise), extra=st.sampled_from(["", ",", ",5"]))
def test_submission_validator_accepts_exactly_the_valid_files(tmp_path_factory, ids, labels, header, junk, extra):
    path = tmp_path_factory.mktemp("sub") / "submission.csv"
    body = "\n".join((f"{i},{l}" if not header.startswith("Label") else f"{l},{i}") + (extra if n == 0 else "")
                     for n, (i, l) in enumerate(zip(ids, labels)))
    path.write_bytes(f"{header}\n{body}\n".encode() + junk)
    sample = path.parent / "sample.csv"
    sample.write_text("ImageId,Label\n" + "".join(f"{i},0\n" for i in range(1, 6)))
    try:
        checked = check_submission(path, sample)
    except KagglekitError as e:
        assert "\n" not in str(e)
        return
    pairs = list(zip(ids, labels))[: min(len(ids), len(labels))]
    assert not junk.strip() and header in ("ImageId,Label", "Label,ImageId") and not extra
    assert sorted(int(i) for i, _ in pairs) == [1, 2, 3, 4, 5] and checked.rows == 5
    assert all(i.isdigit() and l.isdigit() and int(l) <= 9 for i, l in pairs)


members = st.dictionaries(st.sampled_from(["train.csv", "test.csv", "sample_submission.csv", "../x.csv", "/abs.csv",
                                           "d/train.csv", "readme.txt", "d/"]),
                          st.one_of(noise, st.sampled_from([b"label,pixel0\n1,2\n", b"ImageId,Label\n1,0\n"])),
                          max_size=5)


@SETTINGS
@given(files=members, cut=st.one_of(st.none(), st.integers(0, 400)))
def test_unpacker_installs_or_says_why(tmp_path_factory, files, cut):
    root = tmp_path_factory.mktemp("zip")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    raw = buffer.getvalue()
    (root / "c.zip").write_bytes(raw if cut is None else raw[:cut])
    try:
        install_competition(root / "c.zip", root / "data")
    except KagglekitError as e:
        assert "\n" not in str(e)
        assert not (root / "data").exists() and list(root.iterdir()) == [root / "c.zip"]  # nothing left behind
        return
    data.check_competition_folder(root / "data")  # installed means checked
    assert not (root / "x.csv").exists() and not (root.parent / "x.csv").exists()


@pytest.mark.parametrize("newline, bom, tail", [("\r\n", False, ""), ("\n", True, ""), ("\n", False, "\n\n"),
                                                ("\r\n", True, "\r\n")])
def test_crlf_bom_and_trailing_blank_lines_keep_working(tiny_competition, newline, bom, tail):
    path = tiny_competition / "train.csv"
    x, y = data.load_train(path)
    text = path.read_text().replace("\n", newline).rstrip(newline) + newline + tail
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    x2, y2 = data.load_train(path)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)


# --- training settings: hypothesis-generated TrainConfigs and --arch specs -------------------------------
# Each either trains one step on 8 rows, at a finite learning rate, or is refused by check() with one
# ConfigError line before any weight is drawn: never another exception, never an allocation of GiBs.
NAN, INF = float("nan"), float("inf")
edge = st.sampled_from([0, 29, 1000, 10 ** 6, 10 ** 9, 10 ** 15, 10 ** 16])
rates = st.sampled_from(["0", "0.2", "0.99", ".5", "1e-3", "1", "1.5", "1e999"])


def _spec(numbers):
    """Specs of 1-4 tokens in the grammar, their numbers drawn from `numbers`."""
    def spell(f, k, p, s):
        return f"conv{f}k{k}" + ("" if p is None else f"p{p}") + ("" if s is None else f"s{s}")
    conv = st.builds(spell, numbers, numbers, st.none() | numbers, st.none() | numbers)
    token = st.one_of(conv, numbers.map(lambda k: f"pool{k}"), st.just("pool"), st.just("bn"),
                      numbers.map(lambda n: f"dense{n}"), rates.map(lambda r: f"dropout{r}"))
    return st.lists(token, min_size=1, max_size=4).map(",".join)


specs = st.one_of(*[_spec(st.integers(1, 6))] * 3, _spec(st.integers(1, 6) | edge))  # mostly sizes that fit
floats = st.sampled_from([0.0, 0.1, 0.5, 1.0, 2, -0.1, 1e30, NAN, INF, -INF])
FIELD_VALUES = {  # beside each field's own default, values at and past its edges
    "hidden": st.lists(st.sampled_from([1, 4, 16, 0, -3, 10 ** 9]), min_size=0, max_size=3).map(tuple),
    "arch": st.one_of(*[specs] * 4, st.none(), st.tuples(specs, specs).map(";".join)),
    "activation": st.sampled_from(["relu", "tanh", "sigmoid", "gelu"]),
    "init": st.sampled_from(["he", "uniform", "xavier", "zeros"]),
    "optimizer": st.sampled_from(["gd", "sgd", "adam", "lbfgs"]),
    "schedule": st.sampled_from(["none", "cosine", "onecycle", "step"]),
    "seed": st.sampled_from([0, 7, -1, 2 ** 64, 2 ** 200]),
    "holdout_seed": st.sampled_from([None, 0, 3, -1]),
    "epochs": st.sampled_from([1, 3, 0, -1, 10 ** 12]),
    "batch_size": st.sampled_from([0, 1, 4, 128, -1, 10 ** 12]),
    "augment_shift": st.sampled_from([0, 1, 4, 5, -1]),
    "val_size": st.sampled_from([1, 2, 1000, 0, -1, 10 ** 12]),
    "patience": st.sampled_from([0, 1, -1, 10 ** 12]),
    "members": st.sampled_from([1, 2, 0, -1]),
}


class OneStep(Exception):
    """Raised from on_batch: the first step ran, which is all a property needs to see."""


def _changes():
    """Up to three fields of the default TrainConfig changed (arch the likeliest): enough at once to meet
    each other's rules (warmup and schedule, dropout and arch), few enough that many configs train."""
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    return st.lists(st.sampled_from(names + ["arch"] * 6), max_size=3, unique=True).flatmap(
        lambda chosen: st.fixed_dictionaries({name: FIELD_VALUES.get(name, floats) for name in chosen}))


@settings(SETTINGS, max_examples=4 * SETTINGS.max_examples)  # an example takes a millisecond or two
@given(changes=_changes())
def test_a_config_trains_one_step_or_is_refused_in_one_line(changes):
    try:
        config = TrainConfig(**changes).check()
    except ConfigError as e:
        assert "\n" not in str(e) and len(str(e)) < 500
        event("refused")
        return
    event("trained")
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (8, 784), dtype=np.uint8), np.arange(8) % 4

    def stop(i, n, loss, acc, lr):
        assert np.isfinite(lr) and lr >= 0
        raise OneStep
    try:
        train_model(x, y, config.member(config.members - 1), on_batch=stop)
    except OneStep:
        pass
