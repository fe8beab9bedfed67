"""The BLAS's thread count while training. Our products are small or narrow and come thousands of times
per epoch; on a shared 2-core machine every multi-threaded call then waits for a second core to be free
(measured: an mlp epoch 2.5 s with one thread, 10 s with two while other work ran). One thread also
makes results independent of the machine's core count."""
import ctypes
from contextlib import contextmanager

THREADS = 1  # while fitting; None leaves the BLAS's own setting alone


def _openblas_thread_calls():
    """(get, set) of the thread count of the OpenBLAS that NumPy loaded, or None (other BLAS, not Linux)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split(None, 5)[5].strip() for line in maps
                            if "openblas" in line.lower() and len(line.split(None, 5)) == 6})
    except OSError:
        return None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", "_64_", ""):
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    return get, put
    return None


@contextmanager
def blas_threads(n):
    """Run the block with the BLAS limited to n threads (where we can set it), then restore the count."""
    calls = _openblas_thread_calls() if n else None
    if calls is None:
        yield
        return
    get, put = calls
    before = get()
    put(n)
    try:
        yield
    finally:
        put(before)

