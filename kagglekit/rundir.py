"""The run folder: its file names, its kind, which one is the newest, and how a name, a folder or a model
file on the command line becomes run folders and model files. A single run and an ensemble are both run
folders; an ensemble holds ensemble.json and its members, each a run folder of its own, under members/
(and with --full, under full/ the members retrained on every row, which predict). Every JSON file kagglekit writes into a run folder is read and written here."""
import json
import time
from pathlib import Path

from .errors import ModelError
from .files import write_text

RUNS = Path("runs")
NEWEST = "newest"  # what a RUN argument takes for the newest finished run or ensemble
MODEL = "model.npz"
CONFIG = "config.json"
METRICS = "metrics.json"
HISTORY = "history.csv"
RECORD = "record.json"
SUBMISSION = "submission.csv"
ENSEMBLE = "ensemble.json"
MEMBERS = "members"
FULL = "full"  # an ensemble's members retrained on every row (--full): full/0 ... full/K-1
CHECKPOINT = "checkpoint.json"

# The kinds of folder: finished ones are what `newest`, predict and submit use.
RUN, ENSEMBLE_RUN, UNFINISHED_RUN, UNFINISHED_ENSEMBLE = "run", "ensemble", "unfinished run", "unfinished ensemble"
FINISHED = (RUN, ENSEMBLE_RUN)


def kind(folder):
    """What folder is: RUN, ENSEMBLE_RUN, UNFINISHED_RUN (a checkpoint to resume), UNFINISHED_ENSEMBLE,
    or None (no run folder, or one that stopped before its first epoch)."""
    folder = Path(folder)
    if (folder / ENSEMBLE).is_file():
        return ENSEMBLE_RUN if (folder / METRICS).is_file() else UNFINISHED_ENSEMBLE
    if (folder / METRICS).is_file() and (folder / MODEL).is_file():
        return RUN
    if (folder / CHECKPOINT).is_file():
        return UNFINISHED_RUN
    return None


def is_finished(folder):
    return kind(folder) in FINISHED


def is_ensemble(folder):
    return folder is not None and (Path(folder) / ENSEMBLE).is_file()


def folders(runs=RUNS, kinds=FINISHED):
    """The folders under runs/ of the given kinds, by name."""
    root = Path(runs)
    return sorted(p for p in root.iterdir() if p.is_dir() and kind(p) in kinds) if root.is_dir() else []


def finished_at(folder):
    """When a finished run or ensemble finished: the time its metrics.json was written (the last file)."""
    return (Path(folder) / METRICS).stat().st_mtime


def newest(runs=RUNS):
    """The newest finished run or ensemble under runs/ (the one rule every command uses); ModelError if
    there is none. Unfinished runs and ensembles are never the newest: they have no model to use yet."""
    done = folders(runs)
    if not done:
        raise ModelError(f"no trained model found in {runs}/; run `kagglekit train` first or pass a model")
    return max(done, key=lambda p: (finished_at(p), p.name))


def check_name(name, what="--name"):
    """A run name is one folder name: no separators, no '..', nothing that would put it outside runs/."""
    text = str(name)
    if not text.strip() or text in (".", "..") or "/" in text or "\\" in text or "\x00" in text \
            or Path(text).is_absolute():
        raise ModelError(f"{what} {text!r} is not a folder name (it must name one folder inside runs/, without / "
                         f"or ..); pick a plain name such as lenet-2")
    return text


def new(name=None, runs=RUNS):
    """A fresh folder runs/<name> (default: a timestamp); a clash gets a numeric suffix."""
    root = Path(runs)
    base = check_name(name) if name is not None else time.strftime("%Y%m%d-%H%M%S")
    for i in range(1000):
        candidate = root / (base if i == 0 else f"{base}-{i}")
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            continue
    raise ModelError(f"too many runs named {base!r} in {root}; pick another --name")


def find(run=None, runs=RUNS, fix="pass a run folder or name from `kagglekit runs`"):
    """The run folder that `run` names: a folder, a name under runs/, or None / "newest" for the newest
    finished one. It may be unfinished (resume wants those); ModelError, one line ending with fix, when
    there is none."""
    if run is None or str(run) == NEWEST:
        return newest(runs)
    path = Path(run)
    if not path.exists() and not path.is_absolute() and len(path.parts) == 1 and (Path(runs) / path).is_dir():
        path = Path(runs) / path  # a bare name
    if path.suffix == ".npz" and not path.is_dir():
        if not path.is_file():
            raise ModelError(f"model {path} not found; pass a run folder or model file from `kagglekit train`")
        path = path.parent
    if not path.is_dir():
        raise ModelError(f"run {run} not found; {fix}")
    return path


def finished(run=None, runs=RUNS):
    """find(run), checked to be a finished run or ensemble."""
    folder = find(run, runs)
    found = kind(folder)
    if found == UNFINISHED_RUN:
        raise ModelError(f"{folder} did not finish training; continue it with `kagglekit train --resume {folder}`")
    if found == UNFINISHED_ENSEMBLE:
        raise ModelError(f"the ensemble {folder} did not finish training; `kagglekit train --resume {folder}` "
                         f"trains the members it misses")
    if found is None:
        raise ModelError(f"{folder} is not a run folder (no {MODEL} and {METRICS}); pass a folder from "
                         f"`kagglekit runs`")
    return folder


def members(folder, key="members"):
    """The member run folders an ensemble folder lists in ensemble.json, in order (not checked to exist):
    under "members" those that give the estimate, under "full" those retrained on every row (see
    full_members)."""
    record = read_json(Path(folder) / ENSEMBLE)
    listed = record.get(key)
    if not isinstance(listed, list) or not all(isinstance(m, dict) and isinstance(m.get("folder"), str)
                                               for m in listed):
        what = "full members" if key == FULL else key
        raise ModelError(f"{Path(folder) / ENSEMBLE} is damaged (its {what} are not a list of folders); train the "
                         f"ensemble again")
    out = []
    for m in listed:
        member = Path(folder) / m["folder"]
        if Path(m["folder"]).is_absolute() or ".." in Path(m["folder"]).parts:
            raise ModelError(f"{Path(folder) / ENSEMBLE} names a member outside its folder ({m['folder']}); train "
                             f"the ensemble again")
        out.append(member)
    return out


def full_members(folder):
    """The run folders of an ensemble's members retrained on every row (--full), in order; [] for an
    ensemble without them."""
    return members(folder, FULL) if FULL in read_json(Path(folder) / ENSEMBLE) else []


def model_files(run, predicting=False):
    """The model files of a finished run folder: its own model.npz, or each member's (checked to be there).
    predicting: an ensemble's members retrained on every row, where it has them (--full); otherwise, and
    always to be evaluated, the members that held rows out."""
    folder = Path(run)
    if not is_ensemble(folder):
        return [folder / MODEL]
    files = [m / MODEL for m in (predicting and full_members(folder) or members(folder))]
    for f in files:
        if not f.is_file():
            raise ModelError(f"member {f.parent} of the ensemble {folder} is missing (no {MODEL}); "
                             f"`kagglekit train --resume {folder}` trains it again")
    return files


def resolve(paths=(), runs=RUNS, predicting=False):
    """(model files, folders) that paths name: run folders, run names, ensembles (standing for their
    members: see model_files for predicting), model files; none or "newest": the newest finished run or
    ensemble."""
    paths = list(paths) or [None]
    files, named = [], []
    for path in paths:
        if path is not None and Path(path).is_file():
            files.append(Path(path))
            named.append(Path(path).parent)
            continue
        folder = finished(path, runs)
        files += model_files(folder, predicting)
        named.append(folder)
    return files, named


def is_number(value):
    """Whether a value read from JSON is a number (an int or float, not a bool, which is an int subclass)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read_json(path, kind=dict):
    """The JSON value of a file kagglekit wrote, of the given type; ModelError, one line naming the file,
    when it is missing, damaged or of another type."""
    path = Path(path)
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"{path} is missing; train the run again") from None
    except (OSError, ValueError) as e:
        raise ModelError(f"{path} is damaged ({type(e).__name__}); train the run again") from None
    if not isinstance(value, kind):
        raise ModelError(f"{path} is damaged (not a JSON {kind.__name__}); train the run again")
    return value


def read_json_or(path, default=None, kind=dict):
    """read_json, or default when the file is missing or damaged (for what is optional: a record, a report)."""
    try:
        return read_json(path, kind)
    except ModelError:
        return default


def write_json(path, value):
    write_text(path, json.dumps(value, indent=2) + "\n")
