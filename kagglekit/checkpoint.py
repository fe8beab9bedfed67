"""An unfinished run's checkpoint. After each best validation epoch the run folder gets that epoch's
model.npz (the best model so far, usable as it is), checkpoint.npz (the optimizer's arrays, e.g.
Adam's m and v) and checkpoint.json (the epoch and its validation accuracy, the config, the optimizer's
numbers, the generator's state, the history so far): all that `kagglekit train --resume` needs to
continue the run exactly as if it had never stopped. A finished run has metrics.json and no checkpoint."""
import json
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import TrainConfig
from .errors import KagglekitError, ModelError
from .files import atomic_write, write_text
from .nn.network import Network
from .nn.train import History

FORMAT = "kagglekit-checkpoint-1"
STATE, ARRAYS, MODEL = "checkpoint.json", "checkpoint.npz", "model.npz"
DEFERRED = (signal.SIGINT, signal.SIGTERM)  # Ctrl-C, and what `timeout`, schedulers and `docker stop` send


@contextmanager
def interrupts_deferred():
    """Run the block to its end even if Ctrl-C or SIGTERM comes meanwhile, then deliver the signal to
    the handler it had before (Ctrl-C's raises KeyboardInterrupt): the files the block writes belong
    together. Only the main thread can catch signals; elsewhere the block just runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught, previous = [], {}
    for signum in DEFERRED:
        previous[signum] = signal.signal(signum, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)  # None: set outside Python
    for signum in dict.fromkeys(caught):
        signal.raise_signal(signum)


def save(run_dir, net, optimizer, rng, history, config):
    """Write the checkpoint of the epoch that ended last (the best so far), net holding its weights."""
    run_dir, state = Path(run_dir), vars(optimizer)
    arrays = {f"{name}.{i}": a for name, v in state.items() if isinstance(v, dict) for i, a in v.items()}
    numbers = {name: v for name, v in state.items() if isinstance(v, (int, float))}
    record = {"format": FORMAT, "epoch": history.last["epoch"], "best_val_acc": history.last["val_acc"],
              "config": config.to_dict(), "optimizer": {"class": type(optimizer).__name__, **numbers},
              "rng": rng.bit_generator.state if rng is not None else None, "history": history.rows}
    with interrupts_deferred():
        with atomic_write(run_dir / ARRAYS, "wb") as f:
            np.savez(f, epoch=np.array(record["epoch"]), **arrays)
        net.save(run_dir / MODEL)
        write_text(run_dir / STATE, json.dumps(record, indent=1) + "\n")  # last: it says the rest is whole


def remove(run_dir):
    for name in (ARRAYS, STATE):
        (Path(run_dir) / name).unlink(missing_ok=True)


def summary(run_dir):
    """(epoch, validation accuracy) of the run's checkpoint, or None if it has none that reads."""
    try:
        record = json.loads((Path(run_dir) / STATE).read_text())
        return int(record["epoch"]), float(record["best_val_acc"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@dataclass
class Checkpoint:
    """A checkpoint read back and checked: `restore` puts it into a freshly built run."""
    run_dir: Path
    epoch: int
    config: TrainConfig
    record: dict
    model: Network
    arrays: dict

    def restore(self, net, optimizer, rng):
        """Give net, optimizer and rng (fresh ones, built from self.config) the checkpoint's state, and
        return its history rows, which training continues."""
        if [layer.spec() for layer in net.layers] != [layer.spec() for layer in self.model.layers]:
            raise self.unfit(f"{MODEL}'s layers are not those its config builds")
        if type(optimizer).__name__ != self.record["optimizer"]["class"]:
            raise self.unfit(f"its optimizer is {self.record['optimizer']['class']}, the config makes "
                             f"{type(optimizer).__name__}")
        for layer, saved in zip(net.layers, self.model.layers):
            for mine, theirs in ((layer.params, saved.params), (layer.buffers, saved.buffers)):
                for k in mine:
                    mine[k][...] = theirs[k]
        params = [p for p, _ in net.pairs()]
        for key, a in self.arrays.items():
            name, i = key.rsplit(".", 1)
            if not hasattr(optimizer, name) or not i.isdigit() or int(i) >= len(params) \
                    or a.shape != params[int(i)].shape:
                raise self.unfit(f"its optimizer array {key} {a.shape} fits no parameter")
            getattr(optimizer, name)[int(i)] = a.astype(params[int(i)].dtype)
        for name, value in self.record["optimizer"].items():
            if name != "class":
                setattr(optimizer, name, value)
        if rng is not None and self.record["rng"] is not None:
            rng.bit_generator.state = self.record["rng"]
        return History([dict(row) for row in self.record["history"]])

    def unfit(self, why):
        return ModelError(f"{self.run_dir}: the checkpoint does not fit the run ({why}); train a new run")


def load(run_dir):
    """The checkpoint of an unfinished run; ModelError, one line, for a missing, corrupt or
    inconsistent one (e.g. a model.npz of another architecture than checkpoint.json's config)."""
    run_dir = Path(run_dir)
    if not (run_dir / STATE).is_file():
        raise ModelError(f"{run_dir} has no checkpoint to resume from ({STATE} is missing: it stopped before its "
                         f"first epoch ended, or is no run folder); train a new run")
    try:
        record = json.loads((run_dir / STATE).read_text())
        if record.get("format") != FORMAT:
            raise ValueError(f"format {record.get('format')!r}")
        epoch, config = int(record["epoch"]), TrainConfig.from_dict(record["config"])
        if len(record["history"]) != epoch or "class" not in record["optimizer"]:
            raise ValueError("its history does not end at its epoch")
        with np.load(run_dir / ARRAYS, allow_pickle=False) as saved:
            arrays = {k: saved[k] for k in saved.files}
    except (OSError, ValueError, KeyError, TypeError, AttributeError, KagglekitError) as e:
        why = str(e) if isinstance(e, (ValueError, KagglekitError)) and len(str(e)) < 100 else type(e).__name__
        raise ModelError(f"{run_dir}: {STATE} or {ARRAYS} is corrupt or not a kagglekit checkpoint ({why}); "
                         f"train a new run") from None
    if int(arrays.pop("epoch", -1)) != epoch:
        raise ModelError(f"{run_dir}: {ARRAYS} is not from epoch {epoch} as {STATE} says; train a new run")
    model = Network.load(run_dir / MODEL)
    checkpoint = Checkpoint(run_dir, epoch, config, record, model, arrays)
    trained = model.meta.get("config") or {}
    if trained.get("arch") != config.architecture:
        raise checkpoint.unfit(f"{MODEL} is {trained.get('arch', 'of no known architecture')}, {STATE} says "
                               f"{config.architecture}")
    if trained != config.to_dict():
        raise checkpoint.unfit(f"{MODEL} was trained with another config than {STATE} holds")
    return checkpoint
