"""Does a preset's estimate hold on digits nobody chose by? The replica's train.csv is cut once (a fixed
shuffle) into 32,000 rows that kagglekit sees, as a competition folder's train.csv, and 10,000 rows kept
as a private test: their pixels are that folder's test.csv, their labels a solution file kagglekit never
reads. Each preset runs as a user runs it, `kagglekit run --preset P -p FOLDER` with default flags, in a
process of its own; the bench then scores its submission on the private rows and prints, per preset:
the estimate and its interval, the private accuracy and its interval, whether the estimate's interval
holds the private accuracy, the time and the peak RSS of the whole process tree (loky workers too).
An entry of --presets may add options to its preset, e.g. "lenet --folds 4 --full". Results merge into
bench/results.json under "leaderboard".

    python bench/leaderboard.py [--data ZIP_OR_FOLDER] [--presets "quick,lenet --folds 4"] [--work DIR]
"""
import argparse
import json
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from common import DEFAULT_DATA, merge_results
from kagglekit.metrics import wilson
from kagglekit.submission import score_submission

SEEN, PRIVATE, CUT_SEED = 32_000, 10_000, 2026


def cut(data, folder):
    """Write the 32,000-row competition folder and the 10,000-row private solution into folder (once)."""
    solution = folder / "private-solution.csv"
    if solution.is_file():
        return folder / "data", solution
    data = Path(data)
    if data.is_dir():
        frame = pd.read_csv(data / "train.csv", dtype=np.uint8)
    else:
        with zipfile.ZipFile(data) as z, z.open("train.csv") as f:
            frame = pd.read_csv(f, dtype=np.uint8)
    order = np.random.default_rng(CUT_SEED).permutation(len(frame))
    seen, private = frame.iloc[order[:SEEN]], frame.iloc[order[SEEN:SEEN + PRIVATE]]
    (folder / "data").mkdir(parents=True, exist_ok=True)
    seen.to_csv(folder / "data" / "train.csv", index=False)
    private.drop(columns="label").to_csv(folder / "data" / "test.csv", index=False)
    ids = np.arange(1, PRIVATE + 1)
    pd.DataFrame({"ImageId": ids, "Label": 0}).to_csv(folder / "data" / "sample_submission.csv", index=False)
    pd.DataFrame({"ImageId": ids, "Label": private["label"].to_numpy()}).to_csv(solution, index=False)
    return folder / "data", solution


def run_measured(command, cwd):
    """(exit code, seconds, peak RSS in bytes of the process and all its descendants, sampled)."""
    start, peak = time.perf_counter(), [0]
    process = psutil.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=open(Path(cwd) / "log.txt", "w"))

    def sample():
        while process.poll() is None:
            try:
                tree = [process, *process.children(recursive=True)]
                peak[0] = max(peak[0], sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.5)
    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    code = process.wait()
    watcher.join()
    return code, time.perf_counter() - start, peak[0]


def measure(preset, data, solution, work):
    """One entry: a preset, maybe with options ("lenet --folds 4 --full"), run in a folder of its own."""
    words = shlex.split(preset)
    name = re.sub(r"[^A-Za-z0-9.]+", "-", preset).strip("-")  # "lenet --folds 4" -> lenet-folds-4
    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    code, seconds, rss = run_measured([sys.executable, "-m", "kagglekit", "run", "--preset", *words, "-p",
                                       str(data.resolve()), "--name", name, "-q"], folder)
    if code != 0:
        return {"preset": preset, "failed": (folder / "log.txt").read_text()[-500:]}
    metrics = json.loads((folder / "runs" / name / "metrics.json").read_text())
    est = metrics["estimate"]
    private = score_submission(folder / "runs" / name / "submission.csv", solution)
    low, high = wilson(round(private["accuracy"] * private["n"]), private["n"])
    return {"preset": preset, "estimate": est, "private": {"accuracy": private["accuracy"], "low": low,
                                                           "high": high, "n": private["n"]},
            "holds": est["low"] <= private["accuracy"] <= est["high"], "seconds": round(seconds, 1),
            "peak_rss_gb": round(rss / 2 ** 30, 2), **({"full": metrics["full"]} if "full" in metrics else {})}


def row(r):
    if "failed" in r:
        return f"| {r['preset']} | failed: {r['failed'].splitlines()[-1] if r['failed'] else '?'} |"
    e, p = r["estimate"], r["private"]
    return (f"| {r['preset']} | {e['accuracy']:.4f} ({e['low']:.4f}–{e['high']:.4f}, {e['n']:,} {e['method']}) | "
            f"{p['accuracy']:.4f} ({p['low']:.4f}–{p['high']:.4f}) | {'yes' if r['holds'] else 'no'} | "
            f"{r['seconds'] / 60:.1f} min | {r['peak_rss_gb']:.2f} GB |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--presets", default="quick,mlp,lenet,cnn,best")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a new temporary one)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="kk-leaderboard-"))
    data, solution = cut(args.data, work)
    print("| preset | estimate (95%, rows, how) | private test, 10,000 rows (95%) | interval holds it | time "
          "| peak RSS |\n|---|---|---|---|---|---|", flush=True)
    results = {}
    for preset in args.presets.split(","):
        results[preset] = measure(preset, data, solution, work)
        print(row(results[preset]), flush=True)
        merge_results({"leaderboard": {**_previous(), **results}})


def _previous():
    from common import RESULTS
    return json.loads(RESULTS.read_text()).get("leaderboard", {}) if RESULTS.exists() else {}


if __name__ == "__main__":
    main()
