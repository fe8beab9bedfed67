"""Training settings as frozen dataclasses, and the named presets.

A TrainConfig says everything needed to reproduce a run: the network's shape, the optimizer, the
schedule, the holdout and the seed. Each field's metadata holds its help text (and its choices or
parser), from which the command line derives one option per field. `check()` rejects bad values with
the value quoted.
"""
import math
from dataclasses import asdict, dataclass, field, fields, replace

from .errors import ConfigError
from .nn.augment import TTA_SHIFTS
from .nn.registry import ACTIVATIONS, INITS, OPTIMIZERS, SCHEDULES
from .nn.spec import build_layers, mlp_spec


def parse_sizes(text):
    """'128,64' -> (128, 64): hidden layer sizes as the command line writes them."""
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise ConfigError(f"expected sizes separated by commas, e.g. 128,64; got {text!r}") from None


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)  # True is an int to Python, not to us


def _setting(default, help, **extra):
    """A field whose metadata tells the command line its help text and, optionally, its `choices`
    (names from nn.registry) or a `parse` function for the option's text."""
    return field(default=default, metadata={"help": help, **extra})


@dataclass(frozen=True)
class TrainConfig:
    hidden: tuple = _setting((10,), "Hidden layer sizes, e.g. 128,64 (input 784 and output 10 implied).",
                             parse=parse_sizes, metavar="SIZES")
    # None: the MLP that hidden and dropout describe. One that spells that MLP is stored as None (below).
    arch: str = _setting(None, "Layers instead of --hidden, from convNkK[pP][sS], pool[K], bn, denseN, dropoutR, "
                               "e.g. conv32k3p1,pool,dense128,dropout0.4 (the 10-way output is implied).",
                         metavar="SPEC")
    activation: str = _setting("relu", "Hidden-layer activation.", choices=tuple(ACTIVATIONS))
    init: str = _setting("he", "Weight initialisation (uniform: the seed notebook's [-0.5, 0.5]).",
                         choices=tuple(INITS))
    dropout: float = _setting(0.0, "Fraction of hidden units dropped while training.")
    optimizer: str = _setting("adam", "gd (plain gradient descent), sgd (with momentum) or adam.",
                              choices=tuple(OPTIMIZERS))
    lr: float = _setting(1e-3, "Learning rate.")
    lr_decay: float = _setting(1.0, "With --schedule none: multiply the learning rate by this after each epoch.")
    schedule: str = _setting("none", "Learning rate per batch: none (--lr, decayed each epoch by --lr-decay), "
                                     "cosine (--warmup epochs rising to --lr, then a cosine to ~0) or onecycle "
                                     "(PyTorch's OneCycleLR with max --lr).", choices=tuple(SCHEDULES))
    warmup: float = _setting(0.0, "With --schedule cosine: epochs of linear warm-up (may be a fraction).")
    label_smoothing: float = _setting(0.0, "Train towards (1-E)·one-hot + E/10 instead of the one-hot label.")
    momentum: float = _setting(0.9, "SGD momentum.")
    weight_decay: float = _setting(0.0, "L2 penalty on the weights (not the biases).")
    ema: float = _setting(0.0, "Validate and keep an exponential moving average of the weights, moved after "
                               "every step with this decay, e.g. 0.999 (0: off).")
    epochs: int = _setting(10, "Passes over the training rows (iterations if full-batch).")
    batch_size: int = _setting(128, "Rows per step; 0 = all rows (full-batch GD).")
    augment_shift: int = _setting(0, "Shift training images by up to N pixels each epoch (whole pixels; "
                                     "sub-pixel when rotate, zoom or shear is on).")
    augment_rotate: float = _setting(0.0, "Rotate training images by up to N degrees either way.")
    augment_zoom: float = _setting(0.0, "Scale training images by a factor in [1-Z, 1+Z], e.g. 0.1.")
    augment_shear: float = _setting(0.0, "Shear training images by up to N degrees either way.")
    val_size: int = _setting(1000, "Rows held out (stratified) for validation.")
    patience: int = _setting(0, "Stop after N epochs without a better accuracy on the --select-size rows "
                                "(0: never).")
    # The rows that choose are never the rows that report: an accuracy chosen as the best of several
    # epochs on the same rows reads high.
    select_size: int = _setting(0, "Rows, apart from the validation holdout, on which the best epoch (and "
                                   "--patience) is chosen; 0: none, the run keeps its last epoch.")
    seed: int = _setting(0, "Seed for the split, init, shuffles and augmentation.")
    # None: --seed. Runs with other seeds but one holdout seed hold out the same rows, so their
    # probabilities can be averaged and judged on those rows: ensemble members are such runs.
    holdout_seed: int = _setting(None, "Seed for the holdout rows alone (default: --seed).")
    members: int = _setting(1, "Networks in an ensemble, seeds --seed, --seed+1, ...; they share one holdout "
                               "and predict with their averaged probabilities.")
    folds: int = _setting(0, "Out-of-fold ensemble: K members, member i holding out fold i of K (stratified); "
                             "its estimate is the out-of-fold accuracy over every row of train.csv (0: off).",
                          metavar="K")
    # The folds measure; a net trained on every row predicts better but leaves no row to measure it on,
    # so the folds' estimate stands for the full members (README: when that helps). On a member (fold I):
    # member I retrained on every row, as full_member() makes it.
    full: bool = _setting(False, "With --folds K: after the K fold members, retrain K more (their seeds) on every "
                                 "row for the epochs the folds kept; these predict, and the estimate stays the "
                                 "folds' out-of-fold one.")
    fold: int = _setting(None, "With --folds K: train only the member that holds out fold I (from 0) of K, as "
                               "the ensemble trains it.", metavar="I")
    tta: int = _setting(1, f"Predict with the probabilities averaged over the image and its first N-1 fixed "
                           f"one-pixel shifts (1: the image alone; at most {len(TTA_SHIFTS)}).")

    def __post_init__(self):
        # One config, one form: an arch that spells the hidden MLP is that MLP, so that a config read
        # back from to_dict() (which writes the spec out) equals the one written.
        # (Fields of the wrong type, read from a damaged file, are left for check() to name.)
        if isinstance(self.arch, str) and isinstance(self.hidden, tuple) \
                and self.arch == mlp_spec(self.hidden, self.dropout):
            object.__setattr__(self, "arch", None)
        if self.holdout_seed == self.seed:  # likewise: member 0 of an ensemble is the plain run of its seed
            object.__setattr__(self, "holdout_seed", None)
        if isinstance(self.folds, int) and self.folds >= 2 and self.fold is None and self.members == 1:
            object.__setattr__(self, "members", self.folds)  # --folds K alone: K members

    @property
    def architecture(self):
        """The spec of the layers this config builds (nn.spec): arch, or the MLP of hidden and dropout."""
        return mlp_spec(self.hidden, self.dropout) if self.arch is None else self.arch

    @property
    def archs(self):
        """The architectures an ensemble's members take in turn: arch split at ';' (one spec for a run)."""
        return [None] if self.arch is None else [spec.strip() for spec in self.arch.split(";")]

    def member(self, i):
        """The config of ensemble member i (from 0): seed + i, this config's holdout, the i-th of archs
        in turn; a plain run of its own (members 1)."""
        archs = self.archs
        return replace(self, members=1, seed=self.seed + i, arch=archs[i % len(archs)],
                       holdout_seed=self.seed if self.holdout_seed is None else self.holdout_seed,
                       fold=i if self.folds else None, full=False)

    def full_member(self, i, epochs):
        """The config of member i retrained on every row (--full): member i's seed and architecture, no
        holdout and no select rows (so no early stopping), for `epochs`."""
        return replace(self.member(i), full=True, epochs=epochs, select_size=0, patience=0)

    def full_epochs(self, kept):
        """The epochs the full members train, given the epochs the K fold members kept: with select rows
        (which chose them) their median, halves rounded up; without, config.epochs (each kept its last).
        At least one past the warm-up, which must end before training does."""
        if not self.select_size:
            return self.epochs
        kept = sorted(kept)
        middle = len(kept) // 2
        median = kept[middle] if len(kept) % 2 else (kept[middle - 1] + kept[middle]) / 2
        return max(math.floor(median + 0.5), math.floor(self.warmup) + 1)

    def check(self):
        """Return self, or raise ConfigError naming the bad field and value."""
        def bad(name, why):
            raise ConfigError(f"{name} {why}, got {getattr(self, name)!r}")
        for f in fields(self):  # the type first: every comparison below assumes it (config.json may lie)
            value = getattr(self, f.name)
            if f.type is float and not (_is_int(value) or isinstance(value, float) and math.isfinite(value)):
                bad(f.name, "must be a finite number")
            if f.type is int and not (_is_int(value) or value is None and f.default is None):
                bad(f.name, "must be a whole number")
            if f.type is str and not (isinstance(value, str) or value is None and f.default is None):
                bad(f.name, "must be text")
            if f.type is bool and not isinstance(value, bool):
                bad(f.name, "must be true or false")
        if not isinstance(self.hidden, tuple) or not self.hidden or any(not _is_int(h) or h <= 0 for h in self.hidden):
            bad("hidden", "must be one or more positive sizes, e.g. --hidden 128,64")
        for f in fields(self):
            choices = f.metadata.get("choices")
            if choices and getattr(self, f.name) not in choices:
                bad(f.name, f"must be one of {', '.join(choices)}")
        for name in ("seed", "holdout_seed"):  # numpy seeds only from non-negative integers
            if getattr(self, name) is not None and getattr(self, name) < 0:
                bad(name, "must be >= 0")
        if not 0 <= self.dropout < 1:
            bad("dropout", "must be in [0, 1)")
        if self.arch is not None and self.dropout:
            bad("dropout", "goes with --hidden; in --arch write dropoutR tokens where you want them")
        if self.arch is None:  # the MLP that hidden describes: its errors are about the sizes given
            try:
                build_layers(self.architecture, activation=self.activation)
            except ConfigError as e:
                bad("hidden", f"describes a network too large: {str(e).partition(': ')[2]}")
        for spec in self.archs if self.arch is not None else []:
            build_layers(spec, activation=self.activation)  # shapes for 28×28 digits, no weights drawn
        if not self.lr > 0:
            bad("lr", "must be > 0")
        if not 0 < self.lr_decay <= 1:
            bad("lr_decay", "must be in (0, 1]")
        if self.lr_decay != 1 and self.schedule != "none":
            bad("lr_decay", f"goes with --schedule none; {self.schedule} sets the rate of every batch itself")
        if self.warmup < 0 or (self.warmup and self.warmup >= self.epochs):
            bad("warmup", f"must be in [0, epochs) (epochs is {self.epochs})")
        if self.warmup and self.schedule != "cosine":
            bad("warmup", "goes with --schedule cosine (onecycle warms up over its first 30% itself)")
        if not 0 <= self.label_smoothing < 1:
            bad("label_smoothing", "must be in [0, 1)")
        if not 0 <= self.momentum < 1:
            bad("momentum", "must be in [0, 1)")
        if self.weight_decay < 0:
            bad("weight_decay", "must be >= 0")
        if not 0 <= self.ema < 1:
            bad("ema", "must be in [0, 1) (0: off), e.g. 0.999")
        if self.ema and self.batch_size == 0:
            bad("ema", "goes with minibatches (--batch-size > 0), not full-batch descent")
        if self.epochs <= 0:
            bad("epochs", "must be > 0")
        if self.batch_size < 0:
            bad("batch_size", "must be >= 0 (0 = full batch)")
        if not 0 <= self.augment_shift <= 4:
            bad("augment_shift", "must be between 0 and 4 pixels")
        if not 0 <= self.augment_rotate <= 90:
            bad("augment_rotate", "must be between 0 and 90 degrees")
        if not 0 <= self.augment_zoom <= 0.5:
            bad("augment_zoom", "must be between 0 and 0.5")
        if not 0 <= self.augment_shear <= 45:
            bad("augment_shear", "must be between 0 and 45 degrees")
        if self.val_size <= 0:
            bad("val_size", "must be > 0")
        if self.members < 1:
            bad("members", "must be >= 1")
        if not 1 <= self.tta <= len(TTA_SHIFTS):
            bad("tta", f"must be between 1 (no test-time augmentation) and {len(TTA_SHIFTS)}")
        if len(self.archs) > self.members:
            bad("arch", f"gives {len(self.archs)} architectures (separated by ';') for {self.members} member(s); "
                        f"give --members {len(self.archs)} or more")
        if self.patience < 0:
            bad("patience", "must be >= 0 (0: no early stopping)")
        if self.select_size < 0:
            bad("select_size", "must be >= 0 (0: keep the last epoch)")
        if self.patience and not self.select_size:
            bad("patience", "needs rows to judge the epochs on that are not the reported holdout: give "
                            "--select-size N as well, e.g. 1000")
        if self.folds and self.folds < 2:
            bad("folds", "must be 0 (off) or at least 2")
        if self.folds and self.fold is None and self.members != self.folds:
            bad("members", f"must equal --folds ({self.folds}) in an out-of-fold ensemble: one member a fold")
        if self.fold is not None and not self.folds:
            bad("fold", "goes with --folds K: it picks one of the K members")
        if self.fold is not None and not 0 <= self.fold < self.folds:
            bad("fold", f"must be in [0, {self.folds})")
        if self.full and not self.folds:
            bad("full", "needs --folds K, e.g. --folds 4 --full: the K fold members give the estimate and the epochs "
                        "for the K networks retrained on every row")
        return self

    def to_dict(self):
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        d["arch"] = self.architecture  # what was built, for whoever reads config.json or the model file
        return d

    @classmethod
    def from_dict(cls, d):
        """The config a to_dict() (e.g. read back from JSON) describes, checked, its fields' types too."""
        if not isinstance(d, dict):
            raise ConfigError(f"a config must be an object of fields, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"unknown config fields {sorted(unknown)}; the file is from another version")
        d = dict(d)
        if isinstance(d.get("hidden"), list):  # JSON has no tuples; anything else is check()'s to name
            d["hidden"] = tuple(d["hidden"])
        return cls(**d).check()  # check() tests every field's type before its value

    def override(self, **changes):
        """A copy with the given (non-None) fields changed, checked. New hidden sizes replace the
        starting arch, so that --hidden means what it says whatever the preset."""
        changes = {k: v for k, v in changes.items() if v is not None}
        if "hidden" in changes:
            if "arch" in changes:
                raise ConfigError("--arch and --hidden both describe the network; give one of them")
            changes["arch"] = None
        return replace(self, **changes).check()


PRESETS = {
    # The notebook exactly: 784 -> 10 ReLU -> 10 softmax, uniform init, full-batch GD, lr 0.1, 500 iterations.
    "seed": TrainConfig(hidden=(10,), activation="relu", init="uniform", optimizer="gd", lr=0.1,
                        epochs=500, batch_size=0, val_size=1000),
    # The best MLP we train in under a minute on 2 cores. One core does it (~1.2 s an epoch), so another
    # job on the other core does not slow it; batches of 512 cost a third less per epoch than 128 (a
    # quarter of the Adam updates), time spent on more epochs. Validation 0.982-0.988 over seeds 0-4.
    "mlp": TrainConfig(hidden=(800,), activation="relu", init="he", optimizer="adam", lr=3e-3,
                       lr_decay=0.875, epochs=28, batch_size=512, augment_shift=2, val_size=2000),
    # A few seconds, for trying things out.
    "quick": TrainConfig(hidden=(64,), optimizer="adam", lr=2e-3, epochs=5, batch_size=128, val_size=500),
    # The default: the most accurate network we train in under 90 s on 2 cores. LeNet-5's shape (6 and
    # 16 filters of 5x5, 120 and 84 units), one-cycle Adam, shifts, small rotations and zooms, label
    # smoothing: ~5 s an epoch; 14 epochs gave validation 0.991-0.995 over seeds 0-4 in 73-77 s.
    "lenet": TrainConfig(arch="conv6k5p2,pool,conv16k5,pool,dense120,dense84", optimizer="adam", lr=3e-3,
                         schedule="onecycle", epochs=14, batch_size=128, augment_shift=2, augment_rotate=8,
                         augment_zoom=0.08, label_smoothing=0.1, val_size=2000),
    # The most accurate single network here in under 15 minutes: two 3x3 conv layers of 32 and 64
    # filters, dropout before the classifier, stronger affine augmentation; ~30 s an epoch.
    "cnn": TrainConfig(arch="conv32k3,pool,conv64k3,pool,dense128,dropout0.3", optimizer="adam", lr=2e-3,
                       lr_decay=0.87, epochs=20, batch_size=128, augment_shift=2, augment_rotate=10,
                       augment_zoom=0.1, val_size=2000),
    # The top of the leaderboard, in under an hour on 2 cores: 4 batch-normed CNNs (two 3x3 convs of 32,
    # pool, two of 64, pool, as An et al. and Deotte stack them; ~56 s an epoch on 30,000 rows) sharing one
    # 2,000-row holdout, two at a time, their probabilities averaged over 5 shifted views (TTA).
    "best": TrainConfig(arch="conv32k3p1,bn,conv32k3p1,bn,pool,conv64k3,bn,conv64k3,bn,pool,dense128,bn,dropout0.4",
                        optimizer="adam", lr=2e-3, lr_decay=0.88, epochs=22, batch_size=128, augment_shift=2,
                        augment_rotate=10, augment_zoom=0.1, val_size=2000, members=4, tta=5),
}
DEFAULT_PRESET = "lenet"  # what `kagglekit train`/`run` and `kagglekit kernel build` use without --preset


def preset(name):
    """The frozen config of a named preset; ConfigError lists the names otherwise."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]
