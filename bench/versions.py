"""Before and after: `kagglekit run` (default preset lenet) and `kagglekit run --preset cnn` from two git
revisions side by side, alternating which goes first, so that "faster at the same accuracy" can be read
off one run: each run's wall time, its training time and its recorded estimate (metrics.json). Each
revision runs as `python -m kagglekit run ...` from its own `git archive` copy (PYTHONPATH set to it), on
the replica unpacked once into a temp folder (each revision reading its own hard-linked copy, so that
each makes its own parse cache), its runs under one temp runs/ folder with distinct --name. It takes
about 20 minutes in full; --quick cuts it to a smoke run. Results merge into bench/results.json under
"versions".

    python bench/versions.py [--before REV] [--after REV] [--presets lenet,cnn] [--repeat 1]
                             [--data ZIP_OR_FOLDER] [--rows N] [--epochs N] [--quick]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from common import BENCH, DEFAULT_DATA, merge_results

REPO = BENCH.parent
FILES = ("train.csv", "test.csv", "sample_submission.csv")
BEFORE_ISSUE_17 = "f2d5269"  # main before the work on training speed (issue 17)


def git(*args):
    return subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True).stdout.strip()


def commit(rev):
    """The full hash of rev; SystemExit naming it if git does not know it."""
    try:
        return git("rev-parse", "--verify", f"{rev}^{{commit}}")
    except subprocess.CalledProcessError:
        raise SystemExit(f"unknown revision {rev!r}; give a commit, branch or tag this repository holds") from None


def default_before():
    """The merge-base of HEAD with main; where that is HEAD itself (on main, or merged), BEFORE_ISSUE_17."""
    try:
        base = git("merge-base", "HEAD", "main")
    except subprocess.CalledProcessError:
        return BEFORE_ISSUE_17
    return BEFORE_ISSUE_17 if base == git("rev-parse", "HEAD") else base


def checkout(rev, folder):
    """The files of rev in folder, from git archive (no worktree to register or clean up)."""
    folder.mkdir()
    archive = subprocess.Popen(["git", "-C", str(REPO), "archive", "--format=tar", rev], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(folder)], stdin=archive.stdout, check=True)
    if archive.wait():
        raise SystemExit(f"git archive {rev} failed")
    return folder


def unpack(data, folder, rows):
    """The competition's three files in folder; with rows, only the first `rows` of train.csv and of
    test.csv (sample_submission.csv cut to match)."""
    folder.mkdir()
    data = Path(data)
    if not data.exists():
        raise SystemExit(f"{data} not found; pass --data with digit-recognizer.zip or its unpacked folder")
    for name in FILES:
        with (open(data / name, "rb") if data.is_dir() else zipfile.ZipFile(data).open(name)) as src, \
                open(folder / name, "wb") as dst:
            if rows is None:
                shutil.copyfileobj(src, dst)
            else:
                for i, line in enumerate(src):
                    if i > rows:
                        break
                    dst.write(line)
    return folder


def linked_copy(src, dst):
    """dst holding src's files as hard links (copies where links fail), for a parse cache of its own."""
    dst.mkdir()
    for name in FILES:
        try:
            os.link(src / name, dst / name)
        except OSError:
            shutil.copy(src / name, dst / name)
    return dst


def check_import(code, work):
    """SystemExit unless Python started in work with PYTHONPATH=code imports kagglekit from code (not,
    say, from an editable install)."""
    found = subprocess.run([sys.executable, "-c", "import kagglekit; print(kagglekit.__file__)"], check=True,
                           cwd=work, capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(code)}).stdout
    if not Path(found.strip()).resolve().is_relative_to(Path(code).resolve()):
        raise SystemExit(f"PYTHONPATH={code} imports kagglekit from {found.strip()}, not from the checkout")


def run(code, data, work, preset, name, epochs):
    """(wall seconds, metrics.json) of `kagglekit run --preset preset` from the code in `code`."""
    command = [sys.executable, "-m", "kagglekit", "run", "--preset", preset, "-p", str(data), "--name", name, "-q"]
    command += ["--epochs", str(epochs)] if epochs else []
    start = time.perf_counter()
    done = subprocess.run(command, cwd=work, env={**os.environ, "PYTHONPATH": str(code)}, capture_output=True,
                          text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{' '.join(command[1:])} (PYTHONPATH={code}) failed:\n{done.stdout}{done.stderr}")
    return seconds, json.loads((work / "runs" / name / "metrics.json").read_text())


def estimate(metrics):
    est = metrics.get("estimate") or {}
    if "accuracy" not in est:
        return "no estimate"
    return f"{est['accuracy']:.4f} ({est['low']:.4f}-{est['high']:.4f}, {est['n']:,} rows)"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", help=f"the revision before (default: the merge-base with main, or "
                                     f"{BEFORE_ISSUE_17} where that is HEAD)")
    ap.add_argument("--after", help="the revision after (default: the working tree, changes and all)")
    ap.add_argument("--presets", default="lenet,cnn", help="comma-separated presets to run")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each preset by each revision")
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="digit-recognizer.zip or its unpacked folder")
    ap.add_argument("--rows", type=int, help="a cut: the first N rows of train.csv and test.csv")
    ap.add_argument("--epochs", type=int, help="override the presets' epochs")
    ap.add_argument("--quick", action="store_true", help="a smoke run: --rows 4000 --epochs 1, 1 run each, "
                                                         "no results written")
    args = ap.parse_args(argv)
    rows, epochs, repeat = (4000, 1, 1) if args.quick else (args.rows, args.epochs, args.repeat)
    before = commit(args.before or default_before())
    after = commit(args.after) if args.after else None
    labels = {"before": before[:7], "after": after[:7] if after else f"{git('rev-parse', '--short', 'HEAD')}+tree"}
    presets = args.presets.split(",")
    with tempfile.TemporaryDirectory(prefix="kk-versions-") as tmp:
        tmp = Path(tmp)
        code = {"before": checkout(before, tmp / "before"),
                "after": checkout(after, tmp / "after") if after else REPO}
        full = unpack(args.data, tmp / "data", rows)
        data = {side: linked_copy(full, tmp / f"data-{side}") for side in code}
        work = tmp / "work"
        work.mkdir()
        for path in code.values():
            check_import(path, work)
        print(f"before {labels['before']}, after {labels['after']}; presets {', '.join(presets)}; "
              f"{'all rows' if rows is None else f'{rows:,} rows'}" + (f", {epochs} epoch(s)" if epochs else ""),
              flush=True)
        walls = {(p, side): [] for p in presets for side in code}
        found = []
        for r in range(repeat):
            for i, preset in enumerate(presets):
                for side in ("before", "after") if (r + i) % 2 == 0 else ("after", "before"):
                    name = f"{preset}-{side}-{r}"
                    wall, metrics = run(code[side], data[side], work, preset, name, epochs)
                    walls[preset, side].append(wall)
                    found.append({"preset": preset, "side": side, "revision": labels[side], "wall_s": wall,
                                  "train_s": metrics.get("train_seconds"), "estimate": metrics.get("estimate")})
                    print(f"  {preset:<6} {side:<6} {labels[side]:<12} wall {wall:7.1f} s  train "
                          f"{metrics.get('train_seconds', float('nan')):7.1f} s  estimate {estimate(metrics)}",
                          flush=True)
    print("median wall time:")
    summary = {}
    for preset in presets:
        b, a = statistics.median(walls[preset, "before"]), statistics.median(walls[preset, "after"])
        summary[preset] = {"before_s": b, "after_s": a, "after_over_before": a / b}
        print(f"  {preset:<6} before {b:7.1f} s  after {a:7.1f} s  after/before {a / b:.2f}")
    if not args.quick:
        merge_results({"versions": {"before": before, "after": labels["after"], "rows": rows, "epochs": epochs,
                                    "repeat": repeat, "runs": found, "presets": summary}})


if __name__ == "__main__":
    main()
