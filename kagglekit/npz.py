"""Reading back the .npz files kagglekit writes (parse caches, models, checkpoints). Whatever damage a file
took (cut short, overwritten, altered, pickled objects, an array header asking for more than the file
holds), `read_npz` raises the one DamagedFileError, and it allocates no array before checking its size
against the bytes that hold it."""
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .errors import DamagedFileError

MAX_RATIO = 1032  # deflate's best ratio: a member claiming more bytes than that per packed byte is lying
HEADER_LIMIT = 10_000  # bytes of an array's header, NumPy's own limit (np.savez writes about 100)


def read_npz(path, names=None):
    """{name: array} of the .npz at `path`, each array read whole (with `names`, just those, each one
    required); DamagedFileError saying what is wrong for anything that does not read back as np.savez
    wrote it: a missing file, a cut-short or garbage zip, a bad member, a pickle, a lying array header."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename[:-4]: info for info in archive.infolist() if info.filename.endswith(".npy")}
            missing = [name for name in names or () if name not in members]
            if missing:
                raise DamagedFileError(path, f"it has no array {missing[0]!r}")
            size = path.stat().st_size
            return {name: _read(archive, members[name], size, path) for name in names or members}
    except DamagedFileError:
        raise
    except FileNotFoundError:
        raise DamagedFileError(path, "not found") from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, zlib.error, NotImplementedError,
            RuntimeError) as e:  # RuntimeError: an encrypted member. The type says enough: "BadZipFile"
        raise DamagedFileError(path, type(e).__name__) from None


def _read(archive, info, file_size, path):
    """One member's array, read once its header agrees with the bytes the member holds."""
    where = f"array {info.filename[:-4]!r}"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise DamagedFileError(path, f"{where} is packed as np.savez never packs (method {info.compress_type})")
    if info.compress_size > file_size or info.file_size > MAX_RATIO * max(info.compress_size, 1) or (
            info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size):
        raise DamagedFileError(path, f"{where} claims {info.file_size:,} bytes, more than the file can hold")
    with archive.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version not in ((1, 0), (2, 0)):
            raise DamagedFileError(path, f"{where} is in .npy format {version}, which np.savez does not write")
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) \
            else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(f, max_header_size=HEADER_LIMIT)
        header = f.tell()
    if dtype.hasobject:
        raise DamagedFileError(path, f"{where} holds Python objects, which are never loaded (they could run code)")
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if header + expected != info.file_size:
        raise DamagedFileError(path, f"{where} says {shape} {dtype}, {expected:,} bytes, but holds "
                                     f"{info.file_size - header:,}")
    with archive.open(info) as f:  # read to its end, so that zipfile checks the member's CRC
        return np.lib.format.read_array(f, allow_pickle=False, max_header_size=HEADER_LIMIT)
