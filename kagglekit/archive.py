"""Safe unpacking of a competition zip into its data folder.

Members that would land outside the folder are refused, a corrupt or truncated zip is refused,
and everything is unpacked into a temporary folder beside the target, checked, then renamed into
place: a failure leaves the old data untouched and nothing half-written. The sizes unpacked are
recorded beside the files, so that a file cut short or changed later is not taken for installed data.
"""
import json
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from . import data
from .errors import DataError, SubmissionError
from .files import swapped_dir, write_text
from .submission import read_ids

MANIFEST = ".kagglekit-unpacked.json"  # {file name: size in bytes} as unpacked
# What a zip may unpack to, so that a zip bomb is refused before a byte is written: each competition
# file at most MARGIN times its size on Kaggle, any other member at most OTHER_LIMIT, and no member
# of over OTHER_LIMIT that packs tighter than MAX_RATIO (the real CSVs pack about 8.6 to 1). zipfile
# never unpacks more than a member's declared size (and checks its CRC), so the declared sizes bind.
KAGGLE_SIZES = {"train.csv": 76_720_194, "test.csv": 51_103_141, "sample_submission.csv": 212_908}
MARGIN = 4
OTHER_LIMIT = 1 << 20
MAX_RATIO = 100


def _unsafe(name):
    """Why a member name could escape the target folder, or None."""
    posix = name.replace("\\", "/")
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":"):
        return "an absolute path"
    if ".." in PurePosixPath(posix).parts:
        return "a '..' that leads outside the folder"
    return None


def _extract(zip_path, dest):
    """Unpack zip_path into dest after checking every name; zipfile checks each CRC as it reads."""
    try:
        with zipfile.ZipFile(zip_path) as zf:
            for info in zf.infolist():
                reason = _unsafe(info.filename)
                if reason:
                    raise DataError(f"{zip_path} holds {info.filename!r}, {reason}: refusing to unpack it; "
                                    "get the archive again from Kaggle")
                _check_size(zip_path, info)
            names = {PurePosixPath(i.filename).name for i in zf.infolist() if not i.is_dir()}
            if not set(data.DATA_FILES) <= names:
                raise DataError(data.not_our_files(Path(zip_path).name, sorted(names)))
            zf.extractall(dest)
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise DataError(f"{zip_path} is corrupt or truncated ({e}): download it again "
                        "(kagglekit download --force)") from None


def _check_size(zip_path, info):
    """Refuse a member that would unpack to more than a competition file could be (see KAGGLE_SIZES)."""
    name = PurePosixPath(info.filename.replace("\\", "/")).name
    limit = KAGGLE_SIZES[name] * MARGIN if name in KAGGLE_SIZES else OTHER_LIMIT
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > limit or (info.file_size > OTHER_LIMIT and ratio > MAX_RATIO):
        raise DataError(f"{zip_path} holds {info.filename!r}, which would unpack to {info.file_size:,} bytes from "
                        f"{info.compress_size:,} (at most {limit:,}, packed at most {MAX_RATIO} to 1, for this "
                        f"competition): refusing to unpack it; get the archive again from Kaggle")


def _unwrap(folder):
    """Move the files up when the zip wrapped them in a single subfolder of `folder`."""
    entries = list(folder.iterdir())
    if len(entries) != 1 or not entries[0].is_dir():
        return
    inner = entries[0].rename(Path(tempfile.mkdtemp(dir=folder)) / "inner")  # frees the inner name
    for entry in inner.iterdir():
        entry.rename(folder / entry.name)
    shutil.rmtree(inner.parent)


def installed_problem(target_dir):
    """Why target_dir does not hold intact competition files, or "" when it does: the headers, then each
    file's size against what was unpacked there, or (files put there by hand) a full read of every row
    and test.csv's row count against sample_submission.csv's."""
    target = Path(target_dir)
    try:
        data.check_competition_folder(target)
        try:
            unpacked = json.loads((target / MANIFEST).read_text())
        except (OSError, ValueError):
            unpacked = None
        if isinstance(unpacked, dict):
            for name in data.DATA_FILES:
                size = (target / name).stat().st_size
                if size != unpacked.get(name):
                    return f"{target / name} is {size:,} bytes but {unpacked.get(name, 0):,} were unpacked (cut short or changed)"
            return ""
        return rows_problem(target)
    except (DataError, SubmissionError) as e:
        return str(e)


def rows_problem(target):
    """A full read of every row (caching the parse for training), and test.csv's row count against
    sample_submission.csv's: why they are not intact competition files, or ""."""
    try:
        data.train_pixels(target / "train.csv")
        n_test, n_ids = len(data.test_pixels(target / "test.csv")), len(read_ids(target / "sample_submission.csv"))
    except (DataError, SubmissionError) as e:
        return str(e)
    if n_test != n_ids:
        return f"{target}: test.csv has {n_test} rows but sample_submission.csv has {n_ids}"
    return ""


def is_installed(target_dir):
    """True when target_dir already holds intact competition files (see installed_problem)."""
    return not installed_problem(target_dir)


def install_competition(zip_path, target_dir, force=False):
    """Unpack the competition zip into target_dir and check it; return target_dir.
    Skips the work when target_dir already holds valid data, unless force."""
    zip_path, target = Path(zip_path), Path(target_dir)
    if not force and is_installed(target):
        return target
    if not zip_path.is_file():
        raise DataError(f"{zip_path} not found: give the zip downloaded from "
                        f"https://www.kaggle.com/competitions/{data.COMPETITION}/data")
    with swapped_dir(target) as tmp:
        _extract(zip_path, tmp)
        _unwrap(tmp)
        try:
            data.check_competition_folder(tmp)
        except DataError as e:
            raise DataError(f"{zip_path} does not hold valid competition files: {e}") from None
        problem = rows_problem(tmp)  # every row, before the folder is declared ready
        if problem:
            problem = problem.replace(f"{tmp}/", "").replace(f"{tmp}: ", "")
            raise DataError(f"{zip_path} does not hold valid competition files: {problem}")
        write_text(tmp / MANIFEST, json.dumps({name: (tmp / name).stat().st_size for name in data.DATA_FILES}) + "\n")
    return target
