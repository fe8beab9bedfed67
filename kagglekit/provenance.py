"""Which data a run uses: the competition folder to train on (data/digit-recognizer, else the bundled
sample), what a run records of its data (the absolute folder and train.csv's size and hash), and, for a
finished run, the data to evaluate or predict with: its own unless told otherwise, never the sample."""
import hashlib
from pathlib import Path

from .archive import install_competition
from .data import check_competition_folder
from .errors import DataError
from .nn.network import Network

DEFAULT_DATA = Path("data") / "digit-recognizer"
SAMPLE_ZIP = Path(__file__).parent / "sample" / "digit-recognizer-sample.zip"
SAMPLE_DIR = Path("data") / "digit-recognizer-sample"


def find_data(path=None):
    """(folder, is_sample): `path` if given (checked), else data/digit-recognizer, else the bundled sample."""
    if path is not None:
        check_competition_folder(path)
        return Path(path), False
    try:
        check_competition_folder(DEFAULT_DATA)
        return DEFAULT_DATA, False
    except DataError:
        return unpack_sample(), True


def unpack_sample(target=SAMPLE_DIR):
    """Unpack the bundled sample of real digits into `target` (once, checked) and return it."""
    return install_competition(SAMPLE_ZIP, target)


def train_fingerprint(folder):
    """{"size", "sha256"} of folder/train.csv: which rows a run was trained (and held out) on."""
    path = Path(folder) / "train.csv"
    with open(path, "rb") as f:
        return {"size": path.stat().st_size, "sha256": hashlib.file_digest(f, "sha256").hexdigest()}


def data_record(folder):
    """What a run records of its data: the absolute folder and train.csv's fingerprint."""
    return {"folder": str(Path(folder).resolve()), "train_csv": train_fingerprint(folder)}


def _has_data(folder):
    try:
        check_competition_folder(folder)
        return True
    except DataError:
        return False


def recorded_data(model_file):
    """The data record a model file carries ({"folder", "train_csv"}), or None for an older model."""
    recorded = Network.load(model_file).meta.get("data")
    if isinstance(recorded, str):  # runs made before the fingerprint: the folder as it was typed
        recorded = {"folder": recorded}
    return recorded if isinstance(recorded, dict) and isinstance(recorded.get("folder"), str) else None


def data_for_run(run, model_file, path=None, same_train=False):
    """(folder, note) of the data to use with run (its folder, as named to the user) whose first model file
    is model_file: `path` if given, else the data the run recorded, else data/digit-recognizer; never the
    bundled sample. note is "" when it is the run's own data, else one line saying which data is used
    instead and why. With same_train (evaluate: the holdout rows must be the run's own), data whose
    train.csv differs from the run's raises DataError."""
    recorded = recorded_data(model_file)
    known = recorded.get("train_csv") if recorded else None
    trained_on = Path(recorded["folder"]) if recorded else None

    def same(folder):  # True, False, or None when the run recorded no fingerprint
        return None if known is None else train_fingerprint(folder) == known

    def other(folder, why):
        if known is None:
            return folder, (f"Using the data in {folder}: {why}, and {run} does not record which train.csv it "
                            f"was trained on (an older run), so it cannot be checked")
        if same(folder):
            return folder, f"Using the data in {folder}: {why}, but its train.csv is the one {run} was trained on"
        if same_train:
            raise DataError(f"{folder}/train.csv is not the train.csv {run} was trained on ({trained_on}/train.csv): "
                            f"its holdout rows would be other rows; pass -p FOLDER holding that file, or train a "
                            f"run on this data")
        return folder, f"Using other data than {run} was trained on: {folder} ({why})"

    if path is not None:
        check_competition_folder(path)
        if recorded is None or same(path) or (known is None and Path(path).resolve() == trained_on.resolve()):
            return Path(path), ""
        return other(Path(path), f"-p names it; {run} was trained on {trained_on}")
    if trained_on is not None and _has_data(trained_on):
        if same(trained_on) is not False:
            return trained_on, ""
        why = f"{trained_on}/train.csv has changed since {run} was trained on it"
    elif trained_on is not None:
        why = f"the data {run} was trained on ({trained_on}) is gone"
    else:
        why = f"{run} does not record its data"
    if not _has_data(DEFAULT_DATA) or (trained_on is not None and DEFAULT_DATA.resolve() == trained_on.resolve()):
        raise DataError(f"{why}, and there is no other competition data in {DEFAULT_DATA}: pass -p FOLDER, or run "
                        f"`kagglekit download`")
    return other(DEFAULT_DATA, why)
