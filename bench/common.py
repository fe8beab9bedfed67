"""What the bench scripts share: the replica's location, loading its train.csv, and bench/results.json."""
import json
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from kagglekit.data import load_train

BENCH = Path(__file__).resolve().parent
DEFAULT_DATA = BENCH.parents[1] / "shared" / "data" / "digit-recognizer.zip"
RESULTS = BENCH / "results.json"


def materialise(data, folder):
    """Put train.csv from a competition zip or folder into our own scratch folder."""
    data = Path(data)
    if data.is_dir():
        shutil.copy(data / "train.csv", folder / "train.csv")
    else:
        with zipfile.ZipFile(data) as z, z.open("train.csv") as src, open(folder / "train.csv", "wb") as dst:
            shutil.copyfileobj(src, dst)


def load_replica(data, rows=None):
    """(x float32 (n, 784), y) from the replica's train.csv, the first `rows` rows."""
    if not Path(data).exists():
        sys.exit(f"{data} not found; pass --data with digit-recognizer.zip or its unpacked folder")
    with tempfile.TemporaryDirectory(prefix="kk-bench-") as tmp:
        materialise(data, Path(tmp))
        x, y = load_train(Path(tmp) / "train.csv")
    return x[:rows], y[:rows]


def blas():
    """Which BLAS kernels NumPy's products run here, e.g. "openblas 0.3.31 SkylakeX, 1 of 2 threads", with
    the OPENBLAS_CORETYPE that chose them if one is set: a pinned older core (some machines pin one
    for old OpenBLAS builds) halves a current OpenBLAS's float32 rate where the CPU has AVX-512, so every
    bench prints and records this beside its figures."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl is not installed)"
    found = [f"{i['internal_api']} {i['version']} {i.get('architecture') or ''}".strip()
             for i in threadpool_info() if i["user_api"] == "blas"]
    pinned = os.environ.get("OPENBLAS_CORETYPE")
    return (", ".join(found) or "none found") + (f" (pinned by OPENBLAS_CORETYPE={pinned})" if pinned else "")


def merge_results(entry):
    """Add entry's keys to bench/results.json, keeping what other scripts wrote there; a "models" dict
    merges model by model, so that a run of one net keeps the others' figures."""
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for key, value in entry.items():
        old = results.get(key)
        if isinstance(value, dict) and isinstance(old, dict) and isinstance(old.get("models"), dict):
            value = {**value, "models": {**old["models"], **value.get("models", {})}}
        results[key] = value
    RESULTS.write_text(json.dumps(results, indent=2, default=float) + "\n")
