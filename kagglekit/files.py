"""Writing files and folders so that an interrupted command never leaves one half-written: everything
is written beside its target under a temporary name, then renamed into place in one step."""
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_write(path, mode="w", **open_kwargs):
    """Open a temporary file beside `path` for writing; when the block ends without error it replaces
    `path` (a rename), else it is removed and `path` is left as it was."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, mode, **open_kwargs) as f:
            yield f
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


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
