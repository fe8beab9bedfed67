"""Cut the bundled sample (kagglekit/sample/digit-recognizer-sample.zip) from the full competition zip.

Usage: python tools/make_sample.py ../shared/data/digit-recognizer.zip
Takes a stratified random 5,000 training rows and the first 1,000 test rows, in the competition's
exact file format, so the whole pipeline runs offline on a fresh machine.
"""
import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

N_TRAIN, N_TEST, SEED = 5000, 1000, 2024
OUT = Path(__file__).resolve().parent.parent / "kagglekit" / "sample" / "digit-recognizer-sample.zip"


def main(source):
    with zipfile.ZipFile(source) as z:
        train = pd.read_csv(z.open("train.csv"))
        test = pd.read_csv(z.open("test.csv"), nrows=N_TEST)
    rng = np.random.default_rng(SEED)
    rows = np.sort(rng.choice(len(train), N_TRAIN, replace=False))
    files = {
        "train.csv": train.iloc[rows],
        "test.csv": test,
        "sample_submission.csv": pd.DataFrame({"ImageId": np.arange(1, N_TEST + 1), "Label": 0}),
    }
    with zipfile.ZipFile(OUT, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, frame in files.items():
            buf = io.StringIO()
            frame.to_csv(buf, index=False)
            z.writestr(name, buf.getvalue())
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/digit-recognizer.zip")
