"""The one parallelism layer: joblib, as scikit-learn uses it. Tasks are pure functions of their
arguments (a config, a seed, folders in; a saved run out), run in separate processes (loky) on this
machine or handed to a Dask or Ray cluster through joblib's backends; where they run does not change
what they return. A task that fails is reported, not raised, so that the others finish."""
import os
from contextlib import ExitStack

from .errors import ConfigError, KagglekitError
from .fast.workers import cores

BACKENDS = ("loky", "dask", "ray")
ADDRESS_VARIABLES = {"dask": "DASK_SCHEDULER_ADDRESS", "ray": "RAY_ADDRESS"}


class Failed:
    """What a task that raised returns instead: why, in one line."""

    def __init__(self, why):
        self.why = why

    def __repr__(self):
        return f"Failed({self.why!r})"


def reason(error):
    """One line saying why a task failed: a kagglekit error's own message, else the exception's type and text."""
    if isinstance(error, KagglekitError):
        return str(error)
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _call(i, fn, args):
    try:
        return i, fn(*args)
    except Exception as e:  # the others go on; the caller names this task and why
        return i, Failed(reason(e))


def check_backend(backend, jobs=1):
    """ConfigError, one line, for an unknown backend or a job count of 0."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if jobs == 0 or jobs < -1:
        raise ConfigError(f"jobs must be >= 1, or -1 for every core, got {jobs}")


def task_cores(threads=None, jobs=1, tasks=1):
    """The cores each of `tasks` tasks, run `jobs` at a time (-1: one per core), may use for its own
    workers (fast.train.fit) out of `threads` (None: every core this process may use): tasks at once
    times their workers never exceed the cores, and each gets at least one. A 2-member ensemble on 2
    cores runs 1 worker each."""
    at_once = max(1, min(tasks, cores() if jobs == -1 else jobs))
    return max(1, (threads or cores()) // at_once)


def _cluster(backend, scheduler, stack):
    """Connect joblib's dask or ray backend to the cluster at scheduler (or the engine's variable)."""
    extra = f"--backend {backend} needs the {backend} extra: pip install 'kagglekit[{backend}]'"
    address = scheduler or os.environ.get(ADDRESS_VARIABLES[backend])
    need_address = ConfigError(f"--backend {backend} needs the address of a running cluster: --scheduler ADDRESS "
                               f"or {ADDRESS_VARIABLES[backend]}")
    if backend == "dask":
        try:
            from distributed import Client
        except ImportError:
            raise ConfigError(extra) from None
        if not address:
            raise need_address
        try:
            stack.enter_context(Client(address, timeout=10))
        except OSError as e:
            raise ConfigError(f"cannot reach the Dask scheduler at {address}: {reason(e)}") from None
    else:
        try:
            import ray
            from ray.util.joblib import register_ray
        except ImportError:
            raise ConfigError(extra) from None
        register_ray()
        if not ray.is_initialized():
            if not address:
                raise need_address
            try:
                ray.init(address=address, log_to_driver=False)
            except (ConnectionError, RuntimeError) as e:
                raise ConfigError(f"cannot reach the Ray cluster at {address}: {reason(e)}") from None
            stack.callback(ray.shutdown)


def run_tasks(fn, tasks, jobs=1, backend="loky", scheduler=None, on_done=None):
    """fn(*args) for each args in tasks, `jobs` at a time (-1: all cores or cluster workers) on `backend`;
    returns the results in task order, a Failed where a task raised or its worker died. on_done(i, result)
    is called as each finishes (in the calling process)."""
    check_backend(backend, jobs)
    from joblib import Parallel, delayed, parallel_config

    tasks = list(tasks)
    results = [None] * len(tasks)
    with ExitStack() as stack:
        if backend != "loky":
            _cluster(backend, scheduler, stack)
        stack.enter_context(parallel_config(backend=backend))
        # Each result as it comes, where the backend can (Ray's joblib backend returns them all at the end).
        done = Parallel(n_jobs=jobs, return_as="list" if backend == "ray" else "generator_unordered")(
            delayed(_call)(i, fn, args) for i, args in enumerate(tasks))
        try:
            for i, result in done:
                results[i] = result
                if on_done is not None:
                    on_done(i, result)
        except Exception as e:  # a worker killed, a cluster lost: every task not back yet did not finish
            why = f"its worker stopped ({reason(e)})"
            for i, result in enumerate(results):
                if result is None:
                    results[i] = Failed(why)
                    if on_done is not None:
                        on_done(i, results[i])
    return results
