"""Peak memory of predict, validate and train on inputs ten times Kaggle's size.

Builds, in a temporary folder, a test.csv of 10 x 28,000 rows (and its sample_submission.csv) and a
train.csv of 10 x 42,000 rows by repeating the rows of the replica's files, then runs each command in a
fresh process and reports that process's peak RSS next to the size of the data as uint8 and as float32.

    python bench/big_inputs.py --data /tmp/benchdata --scale 10 [--steps predict,validate,train]
    python bench/big_inputs.py --code /path/to/an/older/checkout   # the same figures for other code
"""
import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import resource, sys, time
sys.argv = ["kagglekit", *sys.argv[1:]]
from kagglekit.cli import main
start = time.perf_counter()
try:
    main()
except SystemExit as e:
    code = e.code
print(f"@@ {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} {time.perf_counter() - start:.1f} {code}",
      file=sys.stderr)
"""


def repeat(source, target, times, header_lines=1):
    """target = source's header, then its data rows `times` over."""
    with open(source, "rb") as src:
        header = src.readline()
        body = src.read()
    if not body.endswith(b"\n"):
        body += b"\n"
    with open(target, "wb") as out:
        out.write(header)
        for _ in range(times):
            out.write(body)


def build(data, folder, scale):
    repeat(data / "test.csv", folder / "test.csv", scale)
    repeat(data / "train.csv", folder / "train.csv", scale)
    with open(data / "test.csv", "rb") as f:
        n_test = sum(1 for _ in f) - 1
    with open(folder / "sample_submission.csv", "w") as f:
        f.write("ImageId,Label\n")
        f.writelines(f"{i},0\n" for i in range(1, n_test * scale + 1))
    return n_test * scale


def measure(code, cwd, *args):
    """(peak RSS MiB, seconds, exit code) of `kagglekit args` in a fresh process running `code`."""
    result = subprocess.run([sys.executable, "-c", CHILD, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                            env={"PYTHONPATH": str(code), "PATH": "/usr/bin:/bin"})
    line = next((l for l in result.stderr.splitlines() if l.startswith("@@ ")), None)
    if line is None:
        sys.exit(f"kagglekit {' '.join(map(str, args))} crashed:\n{result.stderr[-2000:]}")
    rss, seconds, status = line.split()[1:]
    return float(rss), float(seconds), status, (result.stdout + result.stderr).strip().splitlines()[-2:]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("/tmp/benchdata"), help="folder with train.csv, test.csv")
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--code", type=Path, default=ROOT, help="the kagglekit checkout to measure")
    parser.add_argument("--steps", default="predict,validate,train")
    args = parser.parse_args()
    steps = args.steps.split(",")
    with tempfile.TemporaryDirectory(prefix="kk-big-") as tmp:
        tmp = Path(tmp)
        big, small = tmp / "big", tmp / "small"
        big.mkdir()
        small.mkdir()
        for name in ("train.csv", "test.csv", "sample_submission.csv"):
            shutil.copy(args.data / name, small / name)
        t = time.perf_counter()
        n_test = build(args.data, big, args.scale)
        print(f"built {args.scale}x inputs in {time.perf_counter() - t:.0f} s: test.csv {n_test:,} rows "
              f"({(big / 'test.csv').stat().st_size / 2**20:.0f} MiB), train.csv "
              f"{(big / 'train.csv').stat().st_size / 2**20:.0f} MiB")
        n_train = n_test // 28 * 42
        print(f"as uint8: test {n_test * 784 / 2**20:.0f} MiB, train {n_train * 785 / 2**20:.0f} MiB; as float32: "
              f"test {n_test * 784 * 4 / 2**20:.0f} MiB, train {n_train * 784 * 4 / 2**20:.0f} MiB")
        rows = []
        if {"predict", "validate"} & set(steps):
            rss, s, status, _ = measure(args.code, tmp, "train", "-p", small, "--preset", "quick", "--epochs", "1",
                                        "--name", "m", "-q")
            rows.append(("train quick, 1x (the model to predict with)", rss, s, status))
        if "predict" in steps:
            for label in ("first read", "cached"):
                rss, s, status, tail = measure(args.code, tmp, "predict", "runs/m", "-p", big, "-o", tmp / "sub.csv",
                                               "-q")
                rows.append((f"predict {args.scale}x ({label})", rss, s, status))
        if "validate" in steps:
            rss, s, status, _ = measure(args.code, tmp, "validate", tmp / "sub.csv", "-p", big)
            rows.append((f"validate {args.scale}x submission", rss, s, status))
        if "train" in steps:
            for label in ("first read", "cached"):
                rss, s, status, tail = measure(args.code, tmp, "train", "-p", big, "--preset", "quick", "--epochs",
                                               "1", "--name", f"big-{label[0]}", "-q")
                rows.append((f"train quick 1 epoch {args.scale}x ({label})", rss, s, status))
        print(f"{'step':<44}{'peak RSS MiB':>14}{'seconds':>10}{'exit':>6}")
        for label, rss, s, status in rows:
            print(f"{label:<44}{rss:>14.0f}{s:>10.1f}{status:>6}")


if __name__ == "__main__":
    main()
