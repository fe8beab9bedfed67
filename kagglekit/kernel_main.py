"""The Kaggle kernel's entry point: find the competition files, train the preset (an ensemble's members one
after another), write submission.csv.
`kagglekit kernel build` carries this module and the modules it imports into one script, writing the
preset it was given into PRESET and CONFIG; run here, `python -m kagglekit.kernel_main` does the same."""
import argparse
import os
import sys
from pathlib import Path

import numpy as np

from .config import TrainConfig, preset
from .data import COMPETITION, DATA_FILES, check_competition_folder, load_train
from .errors import DataError, KagglekitError
from .fast.workers import cores
from .metrics import estimate, format_estimate
from .recipe import predict_test, train_model, tta_proba

# The build rewrites these two assignments: the preset's name, and its config as a TrainConfig literal
# so that the script shows every setting it trains with.
PRESET = "lenet"
CONFIG: TrainConfig = preset(PRESET)
INPUT_ROOT = "/kaggle/input"  # where Kaggle mounts a kernel's data; --input or KAGGLEKIT_INPUT override it
OUTPUT_DIR = "/kaggle/working"  # what Kaggle keeps as the kernel's output; --output or KAGGLEKIT_OUTPUT


def find_competition(root, max_depth=4):
    """The shallowest folder under root holding the three competition files. Kaggle mounts them at
    <root>/digit-recognizer/ on older images and <root>/competitions/digit-recognizer/ on newer ones."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"input folder {root} not found; pass --input FOLDER or set KAGGLEKIT_INPUT")
    found = []
    for folder, subfolders, files in os.walk(root, followlinks=True):
        depth = len(Path(folder).relative_to(root).parts)
        if all(name in files for name in DATA_FILES):
            found.append((depth, folder))
        if depth >= max_depth:  # also ends any symlink loop
            subfolders.clear()
    if not found:
        raise DataError(f"no folder under {root} holds {', '.join(DATA_FILES)}; add the {COMPETITION} "
                        "competition to the kernel's input, or pass --input FOLDER")
    return Path(min(found)[1])


def main(argv=None):
    """Train with CONFIG on the competition files found under --input, write submission.csv into
    --output, and report progress on stdout."""
    parser = argparse.ArgumentParser(description=f"Train kagglekit's {PRESET} preset, write submission.csv.")
    parser.add_argument("--input", default=os.environ.get("KAGGLEKIT_INPUT", INPUT_ROOT),
                        help="folder searched for the competition files (default: %(default)s)")
    parser.add_argument("--output", default=os.environ.get("KAGGLEKIT_OUTPUT", OUTPUT_DIR),
                        help="folder that receives submission.csv (default: %(default)s)")
    args, _ = parser.parse_known_args(argv)  # notebook runners may add arguments of their own
    folder = find_competition(args.input)
    check_competition_folder(folder)
    print(f"kagglekit {PRESET} preset on {folder}", flush=True)
    x, y = load_train(folder / "train.csv")
    epochs = CONFIG.epochs  # a --full member's may differ (below)
    every = max(1, CONFIG.epochs // 20)
    member = ""  # the progress lines' prefix: set for each member of an ensemble below

    def progress(row):
        if row["epoch"] % every == 0 or row["epoch"] == epochs:
            held_out = "" if np.isnan(row["val_acc"]) else f" val_acc {row['val_acc']:.4f}"  # none: a --full member
            print(f"{member}epoch {row['epoch']}/{epochs}: loss {row['train_loss']:.4f} "
                  f"acc {row['train_acc']:.4f}{held_out} ({row['seconds']:.0f} s)", flush=True)

    nets, held, kept = [], [], []  # the members one after another, as `kagglekit train` trains each
    for i in range(CONFIG.members):
        member = f"member {i + 1}/{CONFIG.members} " if CONFIG.members > 1 else ""
        net, history, (_, val_idx) = train_model(x, y, CONFIG if CONFIG.members == 1 else CONFIG.member(i), progress,
                                                 workers=cores())  # every core Kaggle gives the kernel
        nets.append(net)
        held.append(val_idx)
        kept.append(history.best_epoch)
    predicting = nets
    if CONFIG.full:  # then each member again on every row, for the epochs the folds kept: these predict
        epochs, predicting = CONFIG.full_epochs(kept), []
        for i in range(CONFIG.members):
            member = f"full member {i + 1}/{CONFIG.members} "
            predicting.append(train_model(x, y, CONFIG.full_member(i, epochs), progress, workers=cores())[0])
    path, rows = predict_test(lambda x: tta_proba(predicting, x, CONFIG.tta, cores()).argmax(axis=1), folder,
                              Path(args.output) / "submission.csv")
    if CONFIG.folds:  # out of fold: every row, predicted by the member that held it out
        predicted = np.empty(len(y), np.int64)
        for net, val_idx in zip(nets, held):
            predicted[val_idx] = tta_proba([net], x[val_idx], CONFIG.tta, cores()).argmax(axis=1)
        est = estimate(y, predicted, "out-of-fold")
    else:  # the rows every member held out
        est = estimate(y[held[0]], tta_proba(nets, x[held[0]], CONFIG.tta, cores()).argmax(axis=1), "holdout")
    full = f"; it predicts with {len(predicting)} retrained on every row for {epochs} epochs" if CONFIG.full else ""
    print(f"wrote {path}: {rows} rows; {est['method']} accuracy {format_estimate(est)} ({len(nets)} network(s), "
          f"rows that neither trained nor chose them{full})", flush=True)


def run(argv=None):
    """main, with a kagglekit error as one `Error: ...` line on stderr and exit status 1."""
    try:
        main(argv)
    except KagglekitError as e:
        sys.exit(f"Error: {e}")


if __name__ == "__main__":
    run()
