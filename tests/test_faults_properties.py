"""Property-based faults (hypothesis): whatever bytes the CSV readers, the zip unpacker and the submission
validator are given, they return a correct parse or raise a KagglekitError: never another exception."""
import io
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kagglekit import data
from kagglekit.archive import install_competition
from kagglekit.errors import KagglekitError
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
