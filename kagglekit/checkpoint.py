"""An unfinished run's checkpoint. After each best validation epoch the run folder gets that epoch's
model.npz (the best model so far, usable as it is: with --ema the averaged weights), checkpoint.npz
(the arrays of the optimizer's state_dict(), e.g. Adam's m and v, and with --ema the weights training
goes on from, live.i) and checkpoint.json (the epoch and its validation accuracy, the config, the
state_dict's numbers, the generator's state, the history so far): all that `kagglekit train --resume`
needs to continue the run exactly as if it had never stopped. A finished run has metrics.json and no
checkpoint."""
import json
import signal
import threading
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import TrainConfig
from .errors import KagglekitError, ModelError
from .files import atomic_write, write_text
from .rundir import is_number
from .nn.network import Network
from .nn.train import HISTORY_COLUMNS, History, weight_arrays, weight_average

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
    """Write the checkpoint of the epoch that ended last (the best so far), net holding its weights (with
    an EMA, the averages: nn.train.fit calls it so, and the EMA holds the live ones)."""
    run_dir, state = Path(run_dir), optimizer.state_dict()
    arrays = {f"{name}.{i}": a for name, v in state.items() if isinstance(v, dict) for i, a in v.items()}
    if getattr(optimizer, "ema", None) is not None:
        arrays.update({f"live.{i}": a for i, a in enumerate(optimizer.ema.live)})
    numbers = {name: v for name, v in state.items() if not isinstance(v, dict)}
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
        if self.config.ema:  # net holds model.npz's averages; training goes on from the live weights
            weights = weight_arrays(net)
            live = [self.arrays.get(f"live.{i}") for i in range(len(weights))]
            if any(a is None or a.shape != w.shape for a, w in zip(live, weights)):
                raise self.unfit("its live weights (--ema) are missing or do not fit the network")
            weight_average(net, optimizer, self.config)  # averages that start from model.npz's
            for w, a in zip(weights, live):
                w[...] = a
        params = [p for p, _ in net.pairs()]
        state = {name: {} for name, v in optimizer.state_dict().items() if isinstance(v, dict)}
        for key, a in ((k, a) for k, a in self.arrays.items() if not k.startswith("live.")):
            name, _, i = key.rpartition(".")
            if name not in state or not i.isdigit() or int(i) >= len(params) or a.shape != params[int(i)].shape:
                raise self.unfit(f"its optimizer array {key} {a.shape} fits no parameter")
            state[name][int(i)] = a.astype(params[int(i)].dtype)
        partial = [name for name, arrays in state.items() if 0 < len(arrays) < len(params)]
        if partial:
            raise damaged(self.run_dir / ARRAYS, f"it holds {partial[0]} for some parameters only")
        state.update({name: v for name, v in self.record["optimizer"].items() if name != "class"})
        try:
            optimizer.load_state_dict(state)
        except ValueError as e:
            raise ModelError(f"{self.run_dir}: {STATE} and {ARRAYS} make no optimizer state ({e}); train a new "
                             f"run") from None
        if rng is not None and self.record["rng"] is not None:
            rng.bit_generator.state = self.record["rng"]
        return History([dict(row) for row in self.record["history"]])

    def unfit(self, why):
        return ModelError(f"{self.run_dir}: the checkpoint does not fit the run ({why}); train a new run")


def damaged(path, why):
    """The one line for a checkpoint file that does not read back as what save() wrote."""
    why = str(why) if len(str(why)) < 100 else type(why).__name__
    return ModelError(f"{path} is damaged or not a kagglekit checkpoint ({why}); train a new run")


def _read_record(path):
    """checkpoint.json as save() wrote it: (record, config); ValueError or KagglekitError saying what
    is wrong with it."""
    record = json.loads(path.read_text())
    if not isinstance(record, dict):
        raise ValueError(f"it holds a {type(record).__name__}, not an object")
    if record.get("format") != FORMAT:
        raise ValueError(f"format {record.get('format')!r}")
    missing = [key for key in ("epoch", "best_val_acc", "config", "optimizer", "rng", "history") if key not in record]
    if missing:
        raise ValueError(f"it has no {missing[0]}")
    epoch, history, optimizer = record["epoch"], record["history"], record["optimizer"]
    if not (isinstance(epoch, int) and is_number(epoch) and epoch >= 1) or not is_number(record["best_val_acc"]):
        raise ValueError(f"epoch {epoch!r} or its accuracy {record['best_val_acc']!r} is no number")
    if not isinstance(history, list) or len(history) != epoch:
        raise ValueError("its history does not end at its epoch")
    for i, row in enumerate(history, 1):
        if not isinstance(row, dict) or not all(is_number(row.get(c)) for c in HISTORY_COLUMNS) or row["epoch"] != i:
            raise ValueError(f"history row {i} is not the row of epoch {i}")
    if not isinstance(optimizer, dict) or not isinstance(optimizer.get("class"), str) \
            or not all(is_number(v) for k, v in optimizer.items() if k != "class"):
        raise ValueError("its optimizer is not a class name and numbers")
    if record["rng"] is not None:
        try:
            np.random.PCG64().state = record["rng"]  # the generator of recipe.holdout, which restore sets
        except (TypeError, ValueError, KeyError):
            raise ValueError("its generator state is not one") from None
    return record, TrainConfig.from_dict(record["config"])


def _read_arrays(path, epoch):
    """checkpoint.npz as save() wrote it, {name: float array}, for the epoch `epoch`; ValueError saying
    what is wrong with it."""
    try:  # any failure to decode is damage: zipfile and NumPy raise a dozen kinds for a bad file
        saved = np.load(path, allow_pickle=False)
        if not isinstance(saved, np.lib.npyio.NpzFile):
            raise ValueError("it is no .npz archive")
        with saved:
            arrays = {k: saved[k] for k in saved.files}
    except FileNotFoundError:
        raise ValueError("it is missing") from None
    except Exception as e:
        raise ValueError(e if isinstance(e, (ValueError, zipfile.BadZipFile)) else type(e).__name__) from None
    saved_epoch = arrays.pop("epoch", None)
    if saved_epoch is None or saved_epoch.shape != () or saved_epoch.dtype.kind not in "iu":
        raise ValueError("it has no epoch")
    if int(saved_epoch) != epoch:
        raise ModelError(f"{path.parent}: {ARRAYS} is not from epoch {epoch} as {STATE} says; train a new run")
    for name in [k for k in arrays if k.startswith("scratch.")]:  # BlockedAdam's buffers, saved before state_dict
        del arrays[name]
    odd = next((k for k, a in arrays.items() if a.dtype.kind != "f"), None)
    if odd is not None:
        raise ValueError(f"its array {odd} holds {arrays[odd].dtype}, not floats")
    return arrays


def load(run_dir):
    """The checkpoint of an unfinished run; ModelError, one line, for a missing, damaged or
    inconsistent one (e.g. a model.npz of another architecture than checkpoint.json's config)."""
    run_dir = Path(run_dir)
    if not (run_dir / STATE).is_file():
        raise ModelError(f"{run_dir} has no checkpoint to resume from ({STATE} is missing: it stopped before its "
                         f"first epoch ended, or is no run folder); train a new run")
    try:
        record, config = _read_record(run_dir / STATE)
    except (OSError, ValueError, KagglekitError) as e:
        raise damaged(run_dir / STATE, e) from None
    try:
        arrays = _read_arrays(run_dir / ARRAYS, record["epoch"])
    except (OSError, ValueError) as e:
        raise damaged(run_dir / ARRAYS, e) from None
    model = Network.load(run_dir / MODEL)
    checkpoint = Checkpoint(run_dir, record["epoch"], config, record, model, arrays)
    trained = model.meta.get("config") if isinstance(model.meta, dict) else None
    trained = trained if isinstance(trained, dict) else {}
    if trained.get("arch") != config.architecture:
        raise checkpoint.unfit(f"{MODEL} is {trained.get('arch', 'of no known architecture')}, {STATE} says "
                               f"{config.architecture}")
    if trained != config.to_dict():
        raise checkpoint.unfit(f"{MODEL} was trained with another config than {STATE} holds")
    return checkpoint
