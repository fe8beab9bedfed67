"""Run the kagglekit CLI with one function paused, so that a test can send a signal at that moment:

    python pause_at.py MODULE:ATTR MATCH READY GO ARGS...

The first call of MODULE.ATTR (e.g. kagglekit.pipeline:train_pixels, kagglekit.nn.network:Network.save)
whose arguments mention MATCH ("" matches any) creates the file READY, waits until the file GO exists
(at most a minute) and then goes on as the function would have. Signals arrive as they would in a
real run: the wait is plain Python code, interruptible wherever the function itself would be."""
import functools
import importlib
import os
import sys
import time


def pause(target, match, ready, go):
    module_name, _, attr = target.partition(":")
    owner = importlib.import_module(module_name)
    *path, name = attr.split(".")
    for part in path:
        owner = getattr(owner, part)
    original, paused = getattr(owner, name), []

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        said = " ".join(str(getattr(a, "name", a)) for a in [*args, *kwargs.values()])
        if not paused and match in said:
            paused.append(True)
            open(ready, "w").close()
            deadline = time.monotonic() + 60
            while not os.path.exists(go) and time.monotonic() < deadline:
                time.sleep(0.01)
        return original(*args, **kwargs)
    setattr(owner, name, wrapper)


if __name__ == "__main__":
    target, match, ready, go, *args = sys.argv[1:]
    pause(target, match, ready, go)
    from kagglekit.cli import main
    main(args, prog_name="kagglekit")
