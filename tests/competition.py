"""Fixtures that lay out competition folders: a tiny synthetic one and the package's bundled sample."""
import shutil
import zipfile

import numpy as np
import pandas as pd
import pytest

from kagglekit.provenance import SAMPLE_ZIP

PIXELS = [f"pixel{i}" for i in range(784)]


def write_competition(folder, n_train=60, n_test=20, seed=0):
    """A valid competition folder with random pixels; labels follow the brightest quarter of the image
    so that a network can learn them."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    train = rng.integers(0, 256, (n_train, 784))
    labels = np.arange(n_train) % 10
    train_frame = pd.DataFrame(train, columns=PIXELS)
    train_frame.insert(0, "label", labels)
    train_frame.to_csv(folder / "train.csv", index=False)
    pd.DataFrame(rng.integers(0, 256, (n_test, 784)), columns=PIXELS).to_csv(folder / "test.csv", index=False)
    pd.DataFrame({"ImageId": np.arange(1, n_test + 1), "Label": 0}).to_csv(
        folder / "sample_submission.csv", index=False)
    return folder


@pytest.fixture
def tiny_competition(tmp_path):
    return write_competition(tmp_path / "tiny")


@pytest.fixture(scope="session")
def _sample_master(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sample") / "digit-recognizer"
    with zipfile.ZipFile(SAMPLE_ZIP) as z:
        z.extractall(folder)
    return folder


@pytest.fixture
def sample_competition(_sample_master, tmp_path):
    """A private copy of the bundled sample of real digits (5,000 train, 1,000 test rows)."""
    return shutil.copytree(_sample_master, tmp_path / "digit-recognizer")
