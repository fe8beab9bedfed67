"""Writing files and folders so that an interrupted command never leaves one half-written: everything
is written beside its target under a temporary name, then renamed into place in one step."""
import os
import shutil
import stat
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_write(path, mode="w", **open_kwargs):
    """Open a temporary file beside `path` for writing; when the block ends without error it replaces
    `path` (a rename), else it is removed and `path` is left as it was. A missing parent folder is
    created. A path that exists but is not a regular file (a device, a named pipe) is written in place:
    renaming over it would replace the device or pipe with a file."""
    path = Path(path)
    if is_special(path):
        with open(path, mode, **open_kwargs) as f:
            yield f
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, mode, **open_kwargs) as f:
            yield f
        os.replace(tmp, path)
    except OSError as e:
        # Name the file asked for: not the temporary one beside it, and not nothing (a full disk raises
        # from write() with no file name). Errors about other files (a read in the block) keep theirs.
        if e.filename is None or str(e.filename) == str(tmp):
            raise OSError(e.errno, e.strerror, str(path)) from None
        raise
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:  # e.g. the same read-only folder: the error that brought us here is the one to tell
            pass


def is_special(path):
    """Whether path exists and is neither a regular file nor a folder: a device, a named pipe, a socket."""
    try:
        return not stat.S_ISREG(os.stat(path).st_mode) and not Path(path).is_dir()
    except OSError:
        return False


def copy_out(source, dest):
    """Copy file `source` to `dest`: "-" is standard output; anything else is written with atomic_write."""
    with open(source, "rb") as src:
        if str(dest) == "-":
            sys.stdout.flush()
            shutil.copyfileobj(src, sys.stdout.buffer)
            sys.stdout.buffer.flush()
            return
        with atomic_write(dest, "wb") as f:
            shutil.copyfileobj(src, f)


def write_text(path, text):
    """Write `text` to `path` atomically."""
    with atomic_write(path) as f:
        f.write(text)


@contextmanager
def swapped_dir(target):
    """Yield an empty temporary folder beside `target`; when the block ends without error the folder
    takes target's place (the old target, if any, is deleted only once the new one is in place), else
    it is removed and `target` is left as it was."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=f".{target.name}-new-", dir=target.parent))
    try:
        new.chmod(0o777 & ~_umask())  # mkdtemp's 0700 would stick to the renamed folder
        yield new
        replace_dir(new, target)
    finally:
        shutil.rmtree(new, ignore_errors=True)


def replace_dir(new, target):
    """Put folder `new` at `target`; the old target is only deleted once the new one is in place."""
    new, target = Path(new), Path(target)
    if not target.exists():
        os.replace(new, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}-old-", dir=target.parent))
    os.replace(target, old / target.name)
    try:
        os.replace(new, target)
    except OSError:
        os.replace(old / target.name, target)  # put the old data back before reporting
        raise
    shutil.rmtree(old, ignore_errors=True)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
