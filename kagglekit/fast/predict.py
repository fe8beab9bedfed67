"""Row-wise work on several cores: `in_parts(fn, x, parts)` cuts the rows of x into parts of whole
CHUNK-row chunks, runs fn on part 0 in the caller and on the others in forked worker processes
(fast/workers.py; threads where forking is not safe), and gathers the rows in order. fn must compute
each row from that row alone (a network's prediction in eval mode, over fixed test-time views), so the
parts change no value: each part's chunks are those one call would make, and every part, one part too,
runs with one BLAS thread (OpenBLAS's products round differently at 2 threads, ~1e-7 in a probability),
which also makes a prediction independent of the machine's core count."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..errors import KagglekitError
from .blas import blas_threads
from .workers import Workers, forks, shared_copies

CHUNK = 256  # rows: Network.predict_proba's batch, so a part's chunks fall where a whole call's do
FORK = None  # True: worker processes, False: threads, None: processes where workers.forks() says


def in_parts(fn, x, parts):
    """fn(x) for fn mapping rows (n, ...) to a float array (n, k), computed in up to `parts` parts in
    parallel; a worker that fails or is killed is a KagglekitError naming it, Ctrl-C stops them all."""
    n_chunks = -(-len(x) // CHUNK)
    parts = max(1, min(parts, n_chunks))
    bounds = [min(len(x), CHUNK * (n_chunks * i // parts)) for i in range(parts + 1)]
    rows = [slice(a, b) for a, b in zip(bounds, bounds[1:])]
    with blas_threads(1):
        if parts == 1:
            return fn(x)
        if not forks(FORK):
            with ThreadPoolExecutor(parts - 1) as pool:
                futures = [pool.submit(fn, x[r]) for r in rows[1:]]
                first = fn(x[rows[0]])
                return np.concatenate([first, *(f.result() for f in futures)])
        probe = fn(x[:1])  # the width and type of a row's result, for the shared array the workers fill
        out, = shared_copies([np.zeros((len(x), *probe.shape[1:]), probe.dtype)])
        workers = Workers(parts, "prediction", KagglekitError)

        def serve(i, _message):
            out[rows[i]] = fn(x[rows[i]])

        workers.fork(serve)
        done = False
        try:
            workers.start()
            out[rows[0]] = fn(x[rows[0]])
            workers.wait()
            done = True
        finally:
            workers.close(kill=not done)  # Ctrl-C or an error here: the others stop at once
        return np.array(out)
