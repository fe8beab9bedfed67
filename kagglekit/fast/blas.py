"""The BLAS's thread count while training. Our products are small or narrow and come thousands of times
per epoch; on a shared 2-core machine every multi-threaded call then waits for a second core to be free
(measured: an mlp epoch 2.5 s with one thread, 10 s with two while other work ran). One thread also
makes results independent of the machine's core count. threadpoolctl, as scikit-learn uses it, finds
whichever BLAS NumPy loaded (OpenBLAS, MKL, BLIS, Accelerate); without it (a Kaggle kernel needs only
numpy and pandas) the BLAS keeps its own setting."""
from contextlib import nullcontext

THREADS = 1  # while fitting; None leaves the BLAS's own setting alone


def blas_threads(n):
    """A context manager that runs its block with the BLAS limited to n threads, then restores the
    count; it changes nothing for n None or 0, or where threadpoolctl is not installed."""
    if not n:
        return nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return nullcontext()
    return threadpool_limits(limits=n, user_api="blas")
