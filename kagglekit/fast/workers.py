"""Worker processes for a training step cut into parts: `Workers` forks processes for parts 1.. (part 0
runs in the caller), each serving steps until closed, and `share_weights` and `shared_copies` put what
they share with the caller (parameters, their gradients, the batch's rows) into shared memory. One
message through a pipe starts a step, one byte back says it is done; `meet` is a barrier between the
parts within a step. Linux only (FORK); elsewhere the parts run on threads."""
import mmap
import os
import select
import signal
import sys
import threading
import time

import numpy as np

from ..errors import TrainingError

# Forked processes share nothing but the arrays put in shared memory, and no interpreter lock (measured
# faster than threads). Elsewhere fork is missing (Windows) or unsafe with the system libraries (macOS).
FORK = sys.platform.startswith("linux")
SIGNALS = (signal.SIGINT, signal.SIGTERM)  # what a worker leaves to the caller
# A read from a pipe first polls it this long: the message mostly comes within it, and a process put to
# sleep on the pipe takes ~20-40 us to wake here, twice a barrier (see meet), 15 barriers a `best` step.
POLL_SECONDS = 2e-4
# A worker waiting for the next step polls longer: the caller's optimizer step and loop between two steps
# take ~1 ms (best's net), after which a sleeping worker started ~0.1 ms behind the caller's part.
START_POLL_SECONDS = 3e-3


def read(fd, n, seconds=POLL_SECONDS):
    """os.read(fd, n), the pipe polled for up to `seconds` before the read sleeps on it (poll, not
    select: select fails on descriptors past 1024, which a long-lived process can hold)."""
    pipe = select.poll()
    pipe.register(fd, select.POLLIN)
    end = time.perf_counter() + seconds
    while not pipe.poll(0) and time.perf_counter() < end:
        pass
    return os.read(fd, n)


# A container's CPU quota (docker --cpus), which the affinity does not show: cgroup v2, then v1.
CGROUP_QUOTAS = (("/sys/fs/cgroup/cpu.max",), ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
                                               "/sys/fs/cgroup/cpu/cpu.cfs_period_us"))


def cores():
    """How many cores this process may use: its CPU affinity where the system has one (a container's
    or a batch job's share), else every core; no more than its cgroup's CPU quota, rounded up."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        n = os.cpu_count() or 1
    quota = cpu_quota()
    return max(1, min(n, quota)) if quota else n


def cpu_quota():
    """The CPU quota of this process's cgroup in whole cores (rounded up), or None where there is none."""
    for paths in CGROUP_QUOTAS:
        try:
            words = " ".join(open(path).read() for path in paths).split()
            quota, period = int(words[0]), int(words[1])  # "max 100000" (no quota) fails here
        except (OSError, ValueError, IndexError):
            continue
        if quota > 0 and period > 0:
            return -(-quota // period)
    return None


def forks(fork=None):
    """Whether parts run in forked processes: as `fork` says, else on Linux when no other thread runs in
    this process (a child forked then can deadlock on a lock one of them held)."""
    return (FORK and threading.active_count() == 1) if fork is None else fork


def shared_copies(arrays):
    """Copies of arrays in one anonymous shared mapping, which forked processes see and write too."""
    sizes = [-(-a.nbytes // 64) * 64 for a in arrays]  # each copy 64-byte aligned
    memory = mmap.mmap(-1, max(1, sum(sizes)))
    copies, offset = [], 0
    for a, size in zip(arrays, sizes):
        copy = np.frombuffer(memory, a.dtype, a.size, offset).reshape(a.shape)
        copy[...] = a
        copies.append(copy)
        offset += size
    return copies


def share_weights(net, twins):
    """Move net's parameters (which its twins share) and the twins' own gradients into shared memory, so
    that the caller's in-place updates reach forked workers and their gradients reach the caller."""
    share([(layer.params, k) for layer in net.layers for k in sorted(layer.params)])
    share([(layer.grads, k) for twin in twins for layer in twin.layers for k in sorted(layer.grads)])


def share(places):
    """Move the arrays at places, (dict, key) pairs, into one shared mapping (see shared_copies)."""
    for (where, k), copy in zip(places, shared_copies([where[k] for where, k in places])):
        where[k] = copy


def add_gradients(net, twins):
    """Add each twin's gradients into net's, twin after twin: a fixed order, so the sum is the same on
    every run."""
    for twin in twins:
        for (_, grad), (_, part) in zip(net.pairs(), twin.pairs()):
            grad += part


def private_weights(net, places=()):
    """Give net private copies of its parameters again (after share_weights, once the workers are gone),
    and the arrays at places (dict, key) too (after share)."""
    places = [*places, *((layer.params, k) for layer in net.layers for k in layer.params)]
    for where, k in places:
        where[k] = np.array(where[k])


class Stop(BaseException):
    """Raised in a worker waiting in meet() when the caller closes the workers instead."""


class Workers:
    """Processes for parts 1..parts-1 of each step, forked by fork(serve): worker i runs serve(i,
    message) for each start(message), until close(). They ignore SIGINT and SIGTERM: the caller
    handles those, and stops them. A worker that fails or dies is an error in the caller (a TrainingError
    unless told)."""

    def __init__(self, parts, task="training", error=TrainingError):
        """For a step in `parts` parts; a worker that fails is `error`, naming it a `task` worker."""
        self.parts, self.active, self.task, self.error = parts, parts, task, error
        self.pids, self.starts, self.dones = [], [], []
        self.child = None  # in a worker: its (start, done) pipe ends

    def fork(self, serve):
        """Fork the workers; call it once whatever they read of the caller's memory is in place."""
        for i in range(1, self.parts):
            start_r, start_w = os.pipe()
            done_r, done_w = os.pipe()
            # Ctrl-C and SIGTERM wait until the worker ignores them and the caller knows it, to stop it.
            signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
            try:
                try:
                    pid = os.fork()
                except BaseException:  # e.g. out of memory: this attempt's pipes go too (close() stops the rest)
                    for fd in (start_r, start_w, done_r, done_w):
                        os.close(fd)
                    raise
                if pid == 0:  # the worker: serve steps until told to stop, never return into the caller's code
                    try:
                        for signum in SIGNALS:  # the caller's to handle, as Ctrl-C: it stops us
                            signal.signal(signum, signal.SIG_IGN)
                        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
                        for fd in [start_w, done_r, *self.starts, *self.dones]:
                            os.close(fd)
                        self.child = start_r, done_w
                        self._serve(i, serve)
                    finally:
                        os._exit(0)
                os.close(start_r)
                os.close(done_w)
                self.pids.append(pid)
                self.starts.append(start_w)
                self.dones.append(done_r)
            finally:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)

    def _serve(self, i, serve):
        start, done = self.child
        while (message := read(start, 65536, START_POLL_SECONDS))[:1] == b"g":
            try:
                serve(i, message[1:])
                reply = b"d"
            except Stop:
                return
            except BaseException as e:  # reported to the caller, which raises it as a TrainingError
                reply = b"e" + f"{type(e).__name__}: {e}".encode()[:1000]
            os.write(done, reply)

    def start(self, message=b"", parts=None):
        """Start a step in workers 1..parts-1 (default: all), each given message (under 4 KiB: one pipe
        write)."""
        self.active = self.parts if parts is None else parts
        for start in self.starts[:self.active - 1]:
            try:
                os.write(start, b"g" + message)
            except BrokenPipeError:  # the worker died; wait() reports it
                pass

    def meet(self):
        """A barrier between the parts of the step under way: returns in each once every part has called
        it. A worker says it arrived and waits for the caller's go, which comes once all have arrived."""
        if self.child is not None:
            start, done = self.child
            os.write(done, b"m")
            if read(start, 1) != b"c":
                raise Stop
            return
        for k in range(self.active - 1):
            self._expect(k, b"m")
        for start in self.starts[:self.active - 1]:
            os.write(start, b"c")

    def wait(self):
        """Return once every worker of the step is done; TrainingError if one failed or died."""
        for k in range(self.active - 1):
            self._expect(k, b"d")

    def _expect(self, k, reply):
        got = read(self.dones[k], 4096)
        if got != reply:
            pid = self.pids[k]
            self.close(kill=True)  # the others too: they would wait at a barrier, or finish work for nothing
            why = (got[1:].decode(errors="replace") if got[:1] == b"e" else
                   "it was killed or ran out of memory" if not got else f"it answered {got[:20]!r}")
            raise self.error(f"{self.task} worker process {pid} failed ({why}); rerun the command")

    def close(self, kill=False):
        """Stop the workers (those in the middle of a step too, at once with kill) and wait for them to end."""
        for pid in self.pids if kill else ():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:  # gone already
                pass
        for start in self.starts:
            try:
                os.write(start, b"q")
            except OSError:  # already gone
                pass
        for fd in self.starts + self.dones:
            os.close(fd)
        for pid in self.pids:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:  # reaped already
                pass
        self.pids, self.starts, self.dones = [], [], []
