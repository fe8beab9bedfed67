"""The fault suite, local half: each named case breaks one thing (a CSV, a zip, a model file, a disk) and
runs one command through the CLI. Every case must exit non-zero with one `Error:` line that names the
problem and the fix, no traceback, no file left half-written and every earlier output byte for byte as
it was. Kaggle's faults are in test_faults_kaggle.py; what must keep working is at the end."""
import errno
import io
import os
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import error_line, run
from competition import write_competition
from fake_kaggle import make_competition_zip
from kagglekit import archive, files, pipeline
from kagglekit.config import preset

GRAMMAR_HINT = "dense"  # every bad --arch line quotes the grammar, which names dense


@dataclass
class Case:
    name: str
    args: tuple  # CLI arguments; "{d}" is the data folder, "{model}" the trained run
    says: tuple  # fragments the Error: line must hold: the problem, then the fix
    setup: object = None  # setup(ws) breaks something before the command runs
    code: int = 1


@dataclass
class Workspace:
    root: Path
    data: Path
    patch: object
    model: Path = None
    notes: dict = field(default_factory=dict)

    def csv(self, name):
        return self.data / name

    def edit(self, name, change):
        """Rewrite data file `name` through change(text) -> text."""
        path = self.csv(name)
        path.write_text(change(path.read_text()))


def _lines(text):
    return text.splitlines(keepends=True)


def _cell(name, line, col, value):
    """A setup that puts `value` in data file `name`, line `line` (header = 1), column index `col`."""
    def setup(ws):
        def change(text):
            lines = _lines(text)
            cells = lines[line - 1].rstrip("\n").split(",")
            cells[col] = value
            lines[line - 1] = ",".join(cells) + "\n"
            return "".join(lines)
        ws.edit(name, change)
    return setup


def _bytes(name, content):
    return lambda ws: ws.csv(name).write_bytes(content(ws) if callable(content) else content)


def _zip(members, path="bad.zip", compress=zipfile.ZIP_DEFLATED):
    def setup(ws):
        with zipfile.ZipFile(ws.root / path, "w", compress) as zf:
            for name, content in members(ws).items() if callable(members) else members.items():
                zf.writestr(name, content)
    return setup


def _good_members(ws):
    with zipfile.ZipFile(io.BytesIO(make_competition_zip()[0])) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _with(member, content):
    return lambda ws: {**_good_members(ws), member: content(ws) if callable(content) else content}


def _sub(text):
    return lambda ws: (ws.root / "sub.csv").write_text(text(ws) if callable(text) else text)


def _good_sub(ws, n=20, ids=None):
    ids = range(1, n + 1) if ids is None else ids
    return "ImageId,Label\n" + "".join(f"{i},{i % 10}\n" for i in ids)


def _model(content):
    return lambda ws: (ws.root / "bad.npz").write_bytes(content(ws) if callable(content) else content)


def _foreign_npz(ws):
    buffer = io.BytesIO()
    np.savez(buffer, weights=np.zeros((3, 3)))
    return buffer.getvalue()


def _pickled_npz(ws):
    buffer = io.BytesIO()
    np.savez(buffer, __header__=np.array([{"format": "kagglekit-model"}], dtype=object))
    return buffer.getvalue()


def _fail_writes(err, under=""):
    """A setup making every file kagglekit writes (under folder `under`, if given) fail with OSError `err`,
    as a full disk or a read-only folder would; tests never write to a real device."""
    def setup(ws):
        real_open = open

        def failing_open(path, mode="r", *args, **kwargs):
            if any(m in mode for m in "wax") and str(path).startswith(under):
                raise OSError(err, os.strerror(err), str(path) if err != errno.ENOSPC else None)
            return real_open(path, mode, *args, **kwargs)
        ws.patch.setattr(files, "open", failing_open, raising=False)
        ws.patch.setattr(np, "savez", lambda *a, **k: (_ for _ in ()).throw(OSError(err, os.strerror(err))))
    return setup


def _full_disk_mid_write(ws):
    """The disk fills after the first bytes: the write itself raises ENOSPC."""
    real_open = open

    class Full(io.TextIOWrapper):
        pass

    def filling_open(path, mode="r", *args, **kwargs):
        f = real_open(path, mode, *args, **kwargs)
        if any(m in mode for m in "wax"):
            def write(data, _write=f.write, _n=[0]):
                _n[0] += 1
                if _n[0] > 1:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                return _write(data)
            f.write = write
        return f
    ws.patch.setattr(files, "open", filling_open, raising=False)


def _swap_train_test(ws):
    train, test = ws.csv("train.csv").read_bytes(), ws.csv("test.csv").read_bytes()
    ws.csv("train.csv").write_bytes(test)
    ws.csv("test.csv").write_bytes(train)


CASES = [
    # --- train.csv that is not what it should be ------------------------------------------------
    Case("train-random-bytes", ("train", "-p", "{d}"), ("is not UTF-8 text", "download the file again"),
         _bytes("train.csv", bytes(np.random.default_rng(0).integers(1, 256, 5000, dtype=np.uint8)))),
    Case("train-binary-nul", ("train", "-p", "{d}"), ("is not a CSV (it holds binary data)", "download"),
         _bytes("train.csv", b"label,pixel0\x00\x00\x01\x02\n")),
    Case("train-latin1-cell", ("train", "-p", "{d}"), ("is not UTF-8 text (it holds the byte 0xe9)", "download"),
         lambda ws: ws.csv("train.csv").write_bytes(ws.csv("train.csv").read_bytes().replace(b"\n3,", b"\n\xe9,", 1))),
    Case("train-truncated-mid-row", ("train", "-p", "{d}"), ("line 61 column", "empty is not an integer in 0..255",
                                                           "download it again"),
         lambda ws: ws.edit("train.csv", lambda t: t[:-1500])),
    Case("train-huge-header", ("train", "-p", "{d}"), ("starts with a line over 65,536 bytes", "download"),
         _bytes("train.csv", b"label" + b"x" * 100_000 + b"\n1\n")),
    Case("train-huge-line", ("train", "-p", "{d}"), ("line 3 column 'label'", "'99999999999999999999...' is not "
                                                   "an integer in 0..9"),
         _cell("train.csv", 3, 0, "9" * 200_000)),
    Case("train-empty", ("train", "-p", "{d}"), ("is empty", "kagglekit download --force"), _bytes("train.csv", b"")),
    Case("train-header-only", ("train", "-p", "{d}"), ("has a header but no rows", "download the file again"),
         lambda ws: ws.edit("train.csv", lambda t: _lines(t)[0])),
    Case("train-renamed-column", ("train", "-p", "{d}"), ("header column 3 is 'pixel_1', expected 'pixel1'",
                                                        "fix the header"),
         _cell("train.csv", 1, 2, "pixel_1")),
    Case("train-duplicated-column", ("train", "-p", "{d}"), ("header column 3 is 'pixel0', expected 'pixel1'",),
         _cell("train.csv", 1, 2, "pixel0")),
    Case("train-reordered-columns", ("train", "-p", "{d}"), ("header column 2 is 'pixel1', expected 'pixel0'",),
         lambda ws: ws.edit("train.csv", lambda t: t.replace("pixel0,pixel1,", "pixel1,pixel0,", 1))),
    Case("train-missing-column", ("train", "-p", "{d}"), ("has 784 columns, expected 785", "is this the right file?"),
         lambda ws: ws.edit("train.csv", lambda t: "".join(l.rsplit(",", 1)[0] + "\n" for l in _lines(t)))),
    Case("train-extra-field", ("train", "-p", "{d}"), ("line 3 has more than 785 fields", "download it again"),
         lambda ws: ws.edit("train.csv", lambda t: t.replace("\n", ",7\n", 3).replace(",7\n", "\n", 2))),
    Case("train-non-numeric-pixel", ("train", "-p", "{d}"), ("line 5 column 'pixel9': 'abc' is not an integer",
                                                           "fix the file"), _cell("train.csv", 5, 10, "abc")),
    Case("train-negative-pixel", ("train", "-p", "{d}"), ("line 4 column 'pixel0': -1 is not an integer in 0..255",),
         _cell("train.csv", 4, 1, "-1")),
    Case("train-pixel-over-255", ("train", "-p", "{d}"), ("column 'pixel783': 256 is not an integer in 0..255",),
         _cell("train.csv", 2, 784, "256")),
    Case("train-nan-pixel", ("train", "-p", "{d}"), ("line 6 column 'pixel1': 'NaN' is not an integer",),
         _cell("train.csv", 6, 2, "NaN")),
    Case("train-empty-pixel", ("train", "-p", "{d}"), ("line 6 column 'pixel1': empty is not an integer",),
         _cell("train.csv", 6, 2, "")),
    Case("train-float-pixel", ("train", "-p", "{d}"), ("line 2 column 'pixel0': 0.5 is not an integer",),
         _cell("train.csv", 2, 1, "0.5")),
    Case("train-label-10", ("train", "-p", "{d}"), ("column 'label': 10 is not an integer in 0..9",),
         _cell("train.csv", 7, 0, "10")),
    Case("train-label-negative", ("train", "-p", "{d}"), ("column 'label': -3 is not an integer in 0..9",),
         _cell("train.csv", 7, 0, "-3")),
    Case("train-and-test-swapped", ("train", "-p", "{d}"), ("no label column: it looks like test.csv",
                                                          "pass the training file"), _swap_train_test),
    Case("train-every-row-one-field-more", ("train", "-p", "{d}"), ("line 2 has more than 785 fields",),
         lambda ws: ws.edit("train.csv", lambda t: "".join(l if i == 0 else "7," + l for i, l in enumerate(_lines(t))))),
    Case("train-two-fields-more", ("train", "-p", "{d}"), ("line 2 has more than 785 fields",),
         lambda ws: ws.edit("train.csv", lambda t: t.replace("\n", ",7,7\n", 2).replace(",7,7\n", "\n", 1))),
    Case("train-one-row", ("train", "-p", "{d}"), ("train.csv has 1 row", "at least 2", "kagglekit download"),
         lambda ws: ws.edit("train.csv", lambda t: "".join(_lines(t)[:2]))),
    Case("train-folder-missing", ("train", "-p", "nowhere"), ("data folder nowhere not found", "kagglekit download")),
    Case("train-file-missing", ("train", "-p", "{d}"), ("is missing train.csv", "kagglekit download --force"),
         lambda ws: ws.csv("train.csv").unlink()),
    # --- test.csv and predict ---------------------------------------------------------------------
    Case("predict-test-random-bytes", ("predict", "{model}", "-p", "{d}", "-o", "out.csv"), ("is not UTF-8 text",),
         _bytes("test.csv", bytes(range(128, 256)) * 20)),
    Case("predict-test-pixel-over-255", ("predict", "{model}", "-p", "{d}", "-o", "out.csv"),
         ("test.csv line 3 column 'pixel5': 999 is not an integer in 0..255",), _cell("test.csv", 3, 5, "999")),
    Case("predict-test-is-train", ("predict", "{model}", "-p", "{d}", "-o", "out.csv"),
         ("has a label column: it looks like train.csv", "pass the test file"),
         lambda ws: shutil.copy(ws.csv("train.csv"), ws.csv("test.csv"))),
    Case("predict-test-rows-differ", ("predict", "{model}", "-p", "{d}", "-o", "out.csv"),
         ("test.csv has 19 rows but sample_submission.csv has 20", "download the competition files again"),
         lambda ws: ws.edit("test.csv", lambda t: "".join(_lines(t)[:-1]))),
    # --- submissions ------------------------------------------------------------------------------
    Case("validate-wrong-header", ("validate", "sub.csv", "-p", "{d}"), ("header is 'Id,Label'", "fix the first line"),
         _sub(lambda ws: _good_sub(ws).replace("ImageId", "Id"))),
    Case("validate-missing-rows", ("validate", "sub.csv", "-p", "{d}"), ("19 rows, expected 20", "predict the whole"),
         _sub(lambda ws: _good_sub(ws, 19))),
    Case("validate-extra-rows", ("validate", "sub.csv", "-p", "{d}"), ("21 rows, expected 20",),
         _sub(lambda ws: _good_sub(ws, 21))),
    Case("validate-duplicate-ids", ("validate", "sub.csv", "-p", "{d}"),
         ("ImageId 3 appears more than once (again at line 5)", "exactly once"),
         _sub(lambda ws: _good_sub(ws, ids=[1, 2, 3, 3, *range(5, 21)]))),
    Case("validate-ids-not-the-samples", ("validate", "sub.csv", "-p", "{d}"), ("1 ImageIds missing, first 1",),
         _sub(lambda ws: _good_sub(ws, ids=range(2, 22)))),
    Case("validate-float-id", ("validate", "sub.csv", "-p", "{d}"), ("ImageId has 1 value not written as an integer",
                                                                    "write ids as integers"),
         _sub(lambda ws: _good_sub(ws).replace("\n4,", "\n4.0,"))),
    Case("validate-float-label", ("validate", "sub.csv", "-p", "{d}"), ("Label has 1 value not written as an integer",
                                                                       "df.Label.astype(int)"),
         _sub(lambda ws: _good_sub(ws).replace("\n4,4", "\n4,4.0"))),
    Case("validate-label-10", ("validate", "sub.csv", "-p", "{d}"), ("Label has 1 value outside 0..9",),
         _sub(lambda ws: _good_sub(ws).replace("\n4,4", "\n4,10"))),
    Case("validate-empty-label", ("validate", "sub.csv", "-p", "{d}"), ("Label has 1 empty value", "needs a Label"),
         _sub(lambda ws: _good_sub(ws).replace("\n4,4", "\n4,"))),
    Case("validate-row-with-extra-field", ("validate", "sub.csv", "-p", "{d}"),
         ("has a row with more fields than its header", "exactly one value per column"),
         _sub(lambda ws: "ImageId,Label\n" + "".join(f"{i},{i},0\n" for i in range(1, 21)))),
    Case("validate-empty-file", ("validate", "sub.csv", "-p", "{d}"), ("is empty", "ImageId,Label"), _sub("")),
    Case("validate-binary", ("validate", "sub.csv", "-p", "{d}"), ("is not UTF-8 text (it holds the byte 0x80)",
                                                                  "kagglekit predict"),
         lambda ws: (ws.root / "sub.csv").write_bytes(b"ImageId,Label\n" + bytes(range(128, 256)))),
    Case("validate-missing-file", ("validate", "nothing.csv", "-p", "{d}"), ("nothing.csv not found", "check the path")),
    Case("score-solution-without-label", ("score", "sub.csv", "--solution", "sol.csv"),
         ("must have the columns ImageId and Label",),
         lambda ws: [(ws.root / "sub.csv").write_text(_good_sub(ws)), (ws.root / "sol.csv").write_text("ImageId\n1\n")]),
    # --- zips (download --from-file) --------------------------------------------------------------
    Case("zip-corrupt", ("download", "--from-file", "bad.zip", "-q"), ("is corrupt or truncated", "download it again"),
         lambda ws: (ws.root / "bad.zip").write_bytes(b"PK\x03\x04 this is no zip")),
    Case("zip-truncated", ("download", "--from-file", "bad.zip", "-q"), ("is corrupt or truncated",),
         lambda ws: (ws.root / "bad.zip").write_bytes(make_competition_zip()[0][:4000])),
    Case("zip-dotdot-member", ("download", "--from-file", "bad.zip", "-q"),
         ("holds '../evil.csv', a '..' that leads outside the folder", "get the archive again from Kaggle"),
         _zip(_with("../evil.csv", b"x"))),
    Case("zip-absolute-member", ("download", "--from-file", "bad.zip", "-q"),
         ("holds '/tmp/evil.csv', an absolute path", "refusing to unpack it"), _zip(_with("/tmp/evil.csv", b"x"))),
    Case("zip-bomb-ratio", ("download", "--from-file", "bad.zip", "-q"),
         ("holds 'train.csv', which would unpack to 4,194,304 bytes", "packed at most 100 to 1", "again from Kaggle"),
         _zip(_with("train.csv", b"\0" * (4 << 20)))),
    Case("zip-member-too-large", ("download", "--from-file", "bad.zip", "-q"),
         ("holds 'test.csv', which would unpack to", "at most 1,000"),
         lambda ws: [ws.patch.setitem(archive.KAGGLE_SIZES, "test.csv", 250), _zip(_good_members)(ws)]),
    Case("zip-bad-rows", ("download", "--from-file", "bad.zip", "-q"),
         ("does not hold valid competition files: train.csv line 2 column 'pixel0': 300 is not an integer",),
         _zip(_with("train.csv", lambda ws: _bad_row(_good_members(ws)["train.csv"])))),
    Case("zip-rows-disagree", ("download", "--from-file", "bad.zip", "-q"),
         ("test.csv has 4 rows but sample_submission.csv has 5",),
         _zip(_with("test.csv", lambda ws: b"".join(_good_members(ws)["test.csv"].splitlines(True)[:-1])))),
    Case("zip-other-competition", ("download", "--from-file", "bad.zip", "-q"),
         ("are not its files: use 'digit-recognizer'",), _zip({"titanic/train.csv": b"a\n1\n"})),
    Case("zip-missing", ("download", "--from-file", "none.zip"), ("'none.zip' does not exist",), code=2),
    # --- model files ------------------------------------------------------------------------------
    Case("model-missing", ("predict", "nothing.npz", "-p", "{d}"), ("model nothing.npz not found", "kagglekit train")),
    Case("model-random-bytes", ("predict", "bad.npz", "-p", "{d}", "-o", "out.csv"),
         ("bad.npz is corrupt or not a kagglekit model", "retrain it with `kagglekit train`"),
         _model(bytes(range(256)) * 8)),
    Case("model-truncated", ("predict", "bad.npz", "-p", "{d}", "-o", "out.csv"), ("is corrupt or not a kagglekit model",),
         _model(lambda ws: ws.model.read_bytes()[: ws.model.stat().st_size // 2])),
    Case("model-foreign-npz", ("predict", "bad.npz", "-p", "{d}", "-o", "out.csv"), ("not a kagglekit model",),
         _model(_foreign_npz)),
    Case("model-pickled", ("predict", "bad.npz", "-p", "{d}", "-o", "out.csv"), ("not a kagglekit model",),
         _model(_pickled_npz)),
    # --- where outputs go ---------------------------------------------------------------------------
    Case("predict-full-disk", ("predict", "{model}", "-p", "{d}", "-o", "out.csv"),
         ("No space left on device (/", "submission.csv): free some space on its disk"), _fail_writes(errno.ENOSPC)),
    Case("predict-disk-fills-mid-write", ("predict", "{model}", "-p", "{d}", "-o", "earlier.csv"),
         ("No space left on device (", "free some space"), _full_disk_mid_write),
    Case("predict-read-only-folder", ("predict", "{model}", "-p", "{d}", "-o", "ro/out.csv"),
         ("Permission denied (ro/out.csv)", "check its permissions"), _fail_writes(errno.EACCES, "ro/")),
    Case("predict-output-is-a-folder", ("predict", "{model}", "-p", "{d}", "-o", "runs"), ("is a directory",), code=2),
    Case("train-full-disk", ("train", "-p", "{d}", "--name", "full"), ("No space left on device", "free some space"),
         _fail_writes(errno.ENOSPC)),
    Case("run-output-stdout", ("run", "-p", "{d}", "-o", "-"), ("would mix the two", "kagglekit predict -o -"), code=2),
    # --- every bad --arch spec ----------------------------------------------------------------------
    *[Case(f"arch-{name}", ("train", "-p", "{d}", "--arch", spec), (quoted, GRAMMAR_HINT))
      for name, spec, quoted in [
          ("unknown-token", "conv32x3", "bad --arch token 'conv32x3'"),
          ("stray-pool", "dense64,maxpool", "bad --arch token 'maxpool'"),
          ("trailing-comma", "dense64,", "bad --arch token ''"),
          ("capitalised", "Dense64", "bad --arch token 'Dense64'"),
          ("dropout-one-or-more", "dropout1.5", "dropoutR needs 0 <= R < 1"),
          ("zero-units", "dense0", "must be > 0"),
          ("zero-stride", "conv8k3s0", "must be > 0"),
          ("empty", " ", "--arch is empty")]],
    *[Case(f"arch-{name}", ("train", "-p", "{d}", "--arch", spec), (quoted,)) for name, spec, quoted in [
        ("kernel-too-large", "conv8k5,pool,pool,pool,conv8k5", "kernel 5 is larger than its 3x3 input"),
        ("pooled-to-nothing", "pool4,pool4,pool4", "window 4 is larger than its 1x1 input"),
        ("conv-after-dense", "dense32,conv8k3", "conv and pool work on the image, so they come first")]],
]


def _bad_row(train):
    lines = train.splitlines(True)
    cells = lines[1].split(b",")
    cells[1] = b"300"
    lines[1] = b",".join(cells)
    return b"".join(lines)


def snapshot(root):
    """Every file under root (pipes and devices too) -> its bytes (None for what cannot be read)."""
    return {p.relative_to(root): (p.read_bytes() if p.is_file() else None) for p in root.rglob("*")
            if not p.is_dir()}


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """A tiny trained run (1 epoch of `quick` on the 60-row folder), copied into each case that needs one."""
    root = tmp_path_factory.mktemp("trained")
    data = write_competition(root / "d")
    run_dir, _ = pipeline.train_run(data, preset("quick").override(epochs=1, val_size=10), "model",
                                    runs=root / "runs")
    return run_dir


@pytest.fixture
def workspace(tmp_path, monkeypatch, trained_run):
    monkeypatch.chdir(tmp_path)
    data = write_competition(tmp_path / "d")
    run_dir = shutil.copytree(trained_run, tmp_path / "runs" / "model")
    # the run records its data folder: point it at this case's copy
    ws = Workspace(tmp_path, data, monkeypatch, run_dir / "model.npz")
    (tmp_path / "earlier.csv").write_text("an earlier output that must survive\n")
    return ws


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fault(case, workspace):
    check_case(case, workspace)


def check_case(case, ws):
    """Run a case in workspace ws and check all that every case must hold; returns its Error: line."""
    if case.setup is not None:
        case.setup(ws)
    before = snapshot(ws.root)
    args = [str(a).format(d="d", model="runs/model") for a in case.args]
    result = run(*args)
    if case.code == 1:
        line = error_line(result)
    else:
        assert result.exit_code == case.code, result.output
        assert "Traceback" not in result.output
        line = result.output.splitlines()[-1]
        assert line.startswith("Error:"), result.output
    for fragment in case.says:
        assert fragment in line, line
    after = snapshot(ws.root)
    for path, content in before.items():  # earlier outputs intact
        assert after.get(path) == content, f"{path} changed or vanished"
    new = {p for p in after if p not in before and not p.name.endswith(".kkcache.npz")}
    assert new == set(), f"left behind: {sorted(map(str, new))}"  # no partial files, no temporary ones
    assert not [p for p in ws.root.rglob("*") if p.name.startswith(".") and ("tmp" in p.name or "-new-" in p.name)]
    return line


def test_the_suite_has_at_least_fifty_named_cases():
    assert len(CASES) >= 50 and len({c.name for c in CASES}) == len(CASES)


# --- what must keep working ------------------------------------------------------------------------

def test_predict_dash_o_dash_writes_the_csv_alone_to_standard_output(workspace):
    result = run("predict", "runs/model", "-p", "d", "-o", "-")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "ImageId,Label" and len(result.stdout.splitlines()) == 21
    assert "Submission written to standard output (validated)" in result.stderr
    assert not (workspace.root / "-").exists()


def test_a_named_pipe_is_written_in_place_not_replaced(workspace):
    import threading
    pipe = workspace.root / "pipe"
    os.mkfifo(pipe)
    got = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_bytes()))
    reader.start()
    result = run("predict", "runs/model", "-p", "d", "-o", pipe)
    reader.join(30)
    assert result.exit_code == 0, result.output
    assert got and got[0].startswith(b"ImageId,Label\n") and got[0].count(b"\n") == 21
    assert pipe.is_fifo()


def test_atomic_write_leaves_a_device_or_pipe_in_place(tmp_path):
    # /dev/null stands for any device: opened and written, never renamed over (tests write no real device)
    with files.atomic_write("/dev/null") as f:
        f.write("x")
    assert Path("/dev/null").is_char_device()


def test_a_missing_output_folder_is_created(workspace):
    result = run("predict", "runs/model", "-p", "d", "-o", "new/folder/sub.csv")
    assert result.exit_code == 0, result.output
    assert (workspace.root / "new" / "folder" / "sub.csv").is_file()


def test_a_submission_in_any_row_order_with_crlf_and_a_bom_is_valid(workspace):
    rows = "".join(f"{i},{i % 10}\r\n" for i in range(20, 0, -1))
    (workspace.root / "sub.csv").write_bytes(b"\xef\xbb\xbf" + f"ImageId,Label\r\n{rows}\r\n".encode())
    result = run("validate", "sub.csv", "-p", "d")
    assert result.exit_code == 0 and result.stdout == "sub.csv: valid submission, 20 rows\n", result.output


def test_a_small_data_folder_holds_out_a_fifth_with_a_note(workspace):
    result = run("train", "-p", "d", "--preset", "quick", "--epochs", "1", "--name", "small")
    assert result.exit_code == 0, result.output
    assert ("Note: held out 12 of train.csv's 60 rows for validation, as --val-size 500 would leave too few to "
            "train on; set --val-size to choose") in result.stderr
