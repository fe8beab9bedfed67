"""The generated Kaggle kernel: the checked-in copy is what `make kernel` writes; run without kagglekit
installed it predicts exactly what `kagglekit train` + `kagglekit predict` do; its metadata is checked
field by field; and the `kagglekit kernel` commands work through the real kaggle client against the
fake server. Every error is one "Error: ..." line with exit code 1 and no traceback."""
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import error_line, run
from competition import write_competition
from fake_kaggle import TOKEN
from kagglekit import kaggle_api, kernel, kernel_main
from kagglekit.config import preset
from kagglekit.errors import DataError, KernelError
from kagglekit.provenance import SAMPLE_ZIP

REPO = Path(__file__).resolve().parent.parent
CHECKED_IN = REPO / "kernels" / "digit-recognizer"
PACKAGE = REPO / "kagglekit"
KERNEL_ID = "fakeuser/kagglekit-digit-recognizer"


def unpack_sample(folder):
    folder.mkdir(parents=True)
    with zipfile.ZipFile(SAMPLE_ZIP) as z:
        z.extractall(folder)
    return folder


# --- the checked-in kernel ---------------------------------------------------------------------
def test_checked_in_kernel_is_what_make_kernel_writes(tmp_path):
    # The build's id is the placeholder for everyone (push puts the user's in), so this is `make kernel`.
    assert json.loads((CHECKED_IN / kernel.METADATA_FILE).read_text())["id"] == kernel.DEFAULT_ID
    preset_name = re.search(r"^PRESET = '(\w+)'$", (CHECKED_IN / kernel.CODE_FILE).read_text(), re.M).group(1)
    kernel.build(tmp_path / "k", preset_name, kernel.DEFAULT_ID)
    assert sorted(p.name for p in CHECKED_IN.iterdir()) == sorted(p.name for p in (tmp_path / "k").iterdir())
    for name in (kernel.CODE_FILE, kernel.METADATA_FILE):
        assert (CHECKED_IN / name).read_bytes() == (tmp_path / "k" / name).read_bytes(), \
            f"kernels/digit-recognizer/{name} is stale: run `make kernel` and commit the result"


def test_metadata_sets_every_field():
    assert kernel.metadata(KERNEL_ID) == {
        "id": KERNEL_ID, "title": "Kagglekit Digit Recognizer", "code_file": kernel.CODE_FILE,
        "language": "python", "kernel_type": "script", "is_private": True, "enable_gpu": False,
        "enable_tpu": False, "enable_internet": False, "dataset_sources": [],
        "competition_sources": ["digit-recognizer"], "kernel_sources": [], "model_sources": [], "keywords": []}
    assert kernel.slugify("Kagglekit Digit Recognizer") == "kagglekit-digit-recognizer"


# --- parity: the script alone predicts what the CLI predicts -----------------------------------
@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """Run Python with the standard library plus numpy, pandas and their dependencies only: `-S` skips
    site-packages (and so kagglekit's editable install); PYTHONPATH holds links to just those packages."""
    site = tmp_path_factory.mktemp("site")
    todo, seen = ["numpy", "pandas"], set()
    while todo:
        dist = importlib.metadata.distribution(todo.pop())
        if dist.metadata["Name"].lower() in seen:
            continue
        seen.add(dist.metadata["Name"].lower())
        for top in {f.parts[0] for f in dist.files or [] if f.parts[0] not in ("..", "__pycache__")}:
            if not (site / top).exists():
                (site / top).symlink_to(dist.locate_file(top))
        todo += [re.split(r"[ ;<>=!~\[(]", r)[0] for r in dist.requires or [] if "extra ==" not in r]
    keep = ("PATH", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")  # same BLAS threads
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(PYTHONPATH=str(site), HOME=str(site), PYTHONNOUSERSITE="1")

    def python(*args, cwd, **extra_env):
        return subprocess.run([sys.executable, "-S", *map(str, args)], cwd=cwd, env={**env, **extra_env},
                              capture_output=True, text=True, timeout=300)
    return python


def test_sandbox_has_numpy_and_pandas_but_not_kagglekit(sandbox, tmp_path):
    assert sandbox("-c", "import numpy, pandas", cwd=tmp_path).returncode == 0
    for name in ("kagglekit", "click", "kaggle"):
        result = sandbox("-c", f"import {name}", cwd=tmp_path)
        assert f"No module named '{name}'" in result.stderr


@pytest.mark.parametrize("preset_name, epochs, members, full", [
    ("mlp", 3, 1, False),  # the checked-in preset in seconds: the same code paths (augmentation, decay, Adam)
    ("seed", 20, 1, False),  # full batch: the worker processes the script carries only for this preset
    ("lenet", 1, 1, False),  # the default: conv layers, one-cycle schedule, affine warps, label smoothing
    ("cnn", 1, 1, False),  # the largest conv net, dropout
    ("quick", 1, 2, False),  # an ensemble, as the best preset trains one: members in turn, averaged probabilities
    ("quick", 3, 2, True),  # --folds 2 --full with select rows: the full members train the folds' median epochs
])
def test_script_predicts_exactly_what_train_and_predict_do(sandbox, tmp_path, monkeypatch, preset_name, epochs,
                                                           members, full):
    more = {"folds": members, "full": True, "select_size": 500} if full else {}
    words = ["--folds", members, "--full", "--select-size", 500] if full else []
    script = tmp_path / "kernel" / kernel.CODE_FILE
    script.parent.mkdir()
    script.write_text(kernel.render_script(preset_name, preset(preset_name).override(epochs=epochs,
                                                                                     members=members, **more)))
    unpack_sample(tmp_path / "input" / "competitions" / "digit-recognizer")
    result = sandbox(script, cwd=script.parent, KAGGLEKIT_INPUT=tmp_path / "input",
                     KAGGLEKIT_OUTPUT=tmp_path / "working")
    assert result.returncode == 0, result.stderr
    assert f"epoch {epochs}/{epochs}" in result.stdout and "wrote " in result.stdout
    assert ("full member 2/2 epoch " in result.stdout) == full
    assert "nan" not in result.stdout  # a full member holds no rows out: its lines show no val_acc

    # A separate copy, so the CLI cannot read a cache the script wrote.
    data = unpack_sample(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    # -j 1: members one after another on every core, as the script trains them (their steps cut alike)
    assert run("train", "--preset", preset_name, "--epochs", epochs, "--members", members, "-j", 1, *words, "-p", data,
               "--name", "cli", "-q").exit_code == 0
    assert run("predict", "runs/cli", "-p", data, "-o", "cli.csv", "-q").exit_code == 0
    kernel_csv = (tmp_path / "working" / "submission.csv").read_bytes()
    assert kernel_csv.count(b"\n") == 1001
    assert kernel_csv == (tmp_path / "cli.csv").read_bytes()


def test_every_member_trains_on_every_core_the_full_ones_too(tmp_path, monkeypatch):
    """The script trains its members one after another, each step on every core Kaggle gives it, as
    `kagglekit train -j 1` does: the --full members as much as the fold members."""
    given = []

    class Stop(Exception):
        pass

    def train_model(x, y, config, callback=None, workers=1, **kwargs):
        given.append(("full" if config.full else "fold", workers))
        if len(given) == 4:
            raise Stop
        return None, type("History", (), {"best_epoch": 1})(), (np.arange(3), np.arange(0))

    monkeypatch.setattr(kernel_main, "CONFIG", preset("quick").override(folds=2, full=True))
    monkeypatch.setattr(kernel_main, "train_model", train_model)
    monkeypatch.setattr(kernel_main, "cores", lambda: 3)
    write_competition(tmp_path / "input" / "digit-recognizer")
    with pytest.raises(Stop):
        kernel_main.main(["--input", str(tmp_path / "input"), "--output", str(tmp_path)])
    assert given == [("fold", 3), ("fold", 3), ("full", 3), ("full", 3)]


def test_entry_point_finds_the_data_in_either_layout(tmp_path):
    find = kernel_main.find_competition

    def competition(folder):
        folder.mkdir(parents=True)
        for name in ("train.csv", "test.csv", "sample_submission.csv"):
            (folder / name).touch()
        return folder
    (tmp_path / "old" / "mnist-dataset").mkdir(parents=True)
    old, new = competition(tmp_path / "old" / "digit-recognizer"), competition(
        tmp_path / "new" / "competitions" / "digit-recognizer")
    assert find(tmp_path / "old") == old and find(tmp_path / "new") == new
    competition(tmp_path / "new" / "digit-recognizer")
    assert find(tmp_path / "new") == tmp_path / "new" / "digit-recognizer"  # the shallowest wins
    with pytest.raises(DataError, match="no folder under .* holds train.csv, test.csv, sample_sub"):
        find(tmp_path / "old" / "mnist-dataset")
    with pytest.raises(DataError, match="input folder .* not found; pass --input FOLDER"):
        find(tmp_path / "nowhere")


# Imports the checked-in script's modules through its own loader, then describes what it got.
LOAD_ONLY = """import json, runpy, sys
found = runpy.run_path(sys.argv[1], run_name="kernel")  # defines the loader and SOURCES, runs nothing
sys.meta_path.insert(0, found["CarriedModules"]("kagglekit", found["SOURCES"]))
from kagglekit import kernel_main, nn
import kagglekit.nn.train
print(json.dumps([kernel_main.PRESET, kernel_main.CONFIG.to_dict(), kernel_main.__file__,
                  nn.train.__name__, sorted(found["SOURCES"])]))
"""


def test_script_imports_each_module_under_its_own_name(sandbox, tmp_path):
    result = sandbox("-c", LOAD_ONLY, CHECKED_IN / kernel.CODE_FILE, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    preset_name, config, entry_file, train_name, files = json.loads(result.stdout)
    assert config == preset(preset_name).to_dict()  # the package's preset, written as literals
    assert "CONFIG: TrainConfig = TrainConfig(\n    hidden=" in (CHECKED_IN / kernel.CODE_FILE).read_text()
    assert entry_file == "kagglekit/kernel_main.py" and train_name == "kagglekit.nn.train"
    assert files[0] == "kagglekit/__init__.py" and "kagglekit/nn/train.py" in files
    assert not any(name.startswith("kagglekit/cli") or "/kernel/" in name for name in files)


def test_script_without_data_says_so_in_one_line(sandbox, tmp_path):
    result = sandbox(CHECKED_IN / kernel.CODE_FILE, "--input", tmp_path, "--output", tmp_path / "out",
                     cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: no folder under {tmp_path} holds train.csv")
    assert result.stderr.count("\n") == 1 and not (tmp_path / "out").exists()


# --- building ----------------------------------------------------------------------------------
@pytest.fixture
def package(tmp_path):
    """A copy of the package's modules, to break."""
    return Path(shutil.copytree(PACKAGE, tmp_path / "kagglekit", ignore=shutil.ignore_patterns("__pycache__")))


def carried_files(script):
    return re.findall(r"^SOURCES\['([\w/.]+)'\] = ", script, re.M)


def test_only_a_full_batch_script_carries_the_full_batch_parts():
    mlp, seed = kernel.render_script("mlp"), kernel.render_script("seed")
    assert "kagglekit/fast/fullbatch.py" not in carried_files(mlp)
    assert "kagglekit/fast/fullbatch.py" in carried_files(seed)
    for files in (carried_files(mlp), carried_files(seed)):  # both cut their steps into parts, on every core
        assert files.index("kagglekit/fast/workers.py") < files.index("kagglekit/fast/train.py")
    for files in (carried_files(mlp), carried_files(seed)):  # each module after those it imports
        assert files.index("kagglekit/errors.py") < files.index("kagglekit/nn/layers.py") < \
            files.index("kagglekit/nn/train.py") < files.index("kagglekit/recipe.py")
        assert files[-1] == "kagglekit/kernel_main.py"


def test_a_left_out_module_says_so_if_it_is_ever_imported(sandbox, tmp_path):
    # A minibatch config leaves the full-batch workers out; the script edited to full batch reaches them.
    script = tmp_path / kernel.CODE_FILE
    text = kernel.render_script("quick", preset("quick").override(epochs=1))
    assert "    batch_size=128," in text
    script.write_text(text.replace("    batch_size=128,", "    batch_size=0,"))
    unpack_sample(tmp_path / "input" / "digit-recognizer")
    result = sandbox(script, "--input", tmp_path / "input", "--output", tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 1
    # (kagglekit.fast itself, the package, is what the import misses first while the script carries no
    # other module of it)
    assert re.search(r"\nImportError: kagglekit\.fast(\.fullbatch)? is not in this kernel script: it was built "
                     r"for a config that does not use it", result.stderr)


@pytest.mark.parametrize("module, line", [
    ("nn/losses.py", "_update = None"),  # nn/train.py has its own _update, which training calls
    ("nn/losses.py", "Path = None"),  # data.py's Path stays pathlib's
    ("submission.py", "N_PIXELS = 784"),  # data.py has its own
    ("recipe.py", "from . import data"),
    ("recipe.py", "from .data import load_train as load"),
    ("nn/train.py", "from .. import errors"),
])
def test_modules_keep_their_own_names_and_import_each_other_as_in_the_package(sandbox, package, tmp_path,
                                                                              module, line):
    with open(package / module, "a") as f:
        f.write(f"\n{line}\n")
    script = tmp_path / kernel.CODE_FILE
    script.write_text(kernel.render_script("quick", preset("quick").override(epochs=1), package_dir=package))
    unpack_sample(tmp_path / "input" / "digit-recognizer")
    result = sandbox(script, "--input", tmp_path / "input", "--output", tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert line in script.read_text()
    assert (tmp_path / "out" / "submission.csv").read_text().count("\n") == 1001


CYCLE = ("kagglekit.kernel_main -> kagglekit.config -> kagglekit.errors -> kagglekit.recipe -> kagglekit.data "
         "-> kagglekit.errors")


@pytest.mark.parametrize("module, line, message", [
    ("nn/train.py", "from .missing import thing", "imports kagglekit.nn.missing, which is not a module of kagglekit"),
    ("recipe.py", "import kagglekit.nope", "imports kagglekit.nope, which is not a module of kagglekit"),
    ("nn/train.py", "from ..data import no_such_name", "imports no_such_name from kagglekit.data, which does not"),
    ("nn/losses.py", "import click", "kagglekit/nn/losses.py line {end} imports click: a kernel may use only "
                                     "numpy, pandas, the standard library and kagglekit's own modules"),
    ("nn/losses.py", "def later():\n    import torch", "imports torch: a kernel may use only"),
    ("errors.py", "from .. import outside", "kagglekit/errors.py line {end} imports from beyond the top"),
    ("errors.py", "from .recipe import train_model", f"import cycle {CYCLE}"),
    ("nn/optim.py", "def broken(:", "kagglekit/nn/optim.py line"),
    ("nn/optim.py", "return 1", "'return' outside function"),
    ("nn/optim.py", "NOTE = '''x'''", "has ''', which the script cannot carry"),
])
def test_build_refuses_what_the_script_cannot_carry(package, module, line, message):
    kernel.render_script("mlp", package_dir=package)  # the unbroken copy builds
    end = len((package / module).read_text().splitlines()) + 2  # the line appended below
    with open(package / module, "a") as f:
        f.write(f"\n{line}\n")
    with pytest.raises(KernelError, match=re.escape(message.format(end=end))) as error:
        kernel.render_script("mlp", package_dir=package)
    assert "\n" not in str(error.value) and str(error.value).startswith("cannot build the kernel: ")


@pytest.mark.parametrize("line", [
    "try:\n    import torch\nexcept ImportError:\n    torch = None",
    "def later():\n    try:\n        from click import echo\n    except (OSError, ModuleNotFoundError):\n        return None",
])
def test_build_carries_a_module_that_tries_another_library_and_does_without_it(package, line):
    with open(package / "nn" / "losses.py", "a") as f:
        f.write(f"\n{line}\n")
    assert line in kernel.render_script("mlp", package_dir=package)


def test_build_refuses_another_library_tried_for_other_errors(package):
    with open(package / "nn" / "losses.py", "a") as f:
        f.write("\ntry:\n    import torch\nexcept ValueError:\n    torch = None\n")
    with pytest.raises(KernelError, match="imports torch: a kernel may use only numpy, pandas"):
        kernel.render_script("mlp", package_dir=package)


def test_build_refuses_an_entry_point_without_the_preset(package):
    text = (package / "kernel_main.py").read_text()
    (package / "kernel_main.py").write_text(text.replace("CONFIG: TrainConfig = preset(PRESET)", "CONFIG2 = 1"))
    with pytest.raises(KernelError, match="kagglekit/kernel_main.py has no module-level CONFIG assignment"):
        kernel.render_script("mlp", package_dir=package)


def test_a_failed_build_leaves_the_old_folder_intact(tmp_path, package, monkeypatch):
    folder = tmp_path / "k"
    kernel.build(folder, "quick", KERNEL_ID)
    (folder / "notes.txt").write_text("mine")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(KernelError, match="cannot build the kernel for id 'fakeuser/My_Kernel'"):
        kernel.build(folder, "mlp", "fakeuser/My_Kernel")
    entry = package / "kernel_main.py"
    entry.write_text(entry.read_text().replace("def main(", "def main(:"))
    monkeypatch.setattr(kernel.script, "PACKAGE_DIR", package)
    with pytest.raises(KernelError, match="kagglekit/kernel_main.py line"):
        kernel.build(folder, "mlp", KERNEL_ID)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k", "kagglekit"]  # no temporary folders left
    monkeypatch.undo()
    kernel.build(folder, "mlp", KERNEL_ID)  # a good build replaces the kernel and keeps other files
    assert (folder / "notes.txt").read_text() == "mine" and "PRESET = 'mlp'" in (folder / kernel.CODE_FILE).read_text()


# --- metadata checks -------------------------------------------------------------------------------
# (field, bad value or None to delete it, what the error says, whether the kaggle client refuses it too)
BAD_METADATA = [
    ("title", "Abcd", "title must be at least 5 characters", True),
    ("title", "Something Else", "title 'Something Else' must slugify to the id's slug", False),
    ("code_file", "missing.py", "code_file must name the script", True),
    ("code_file", None, "code_file must name the script", True),
    ("id", "kagglekit-digit-recognizer", "id must be USERNAME/slug", False),
    ("id", "fakeuser/abcd", "id must be USERNAME/slug", True),
    ("id", "fakeuser/kagglekit-digit-recognizer/3", "id must be USERNAME/slug", True),
    ("id", "fakeuser/My_Kernel!!", "id must be USERNAME/slug", False),
    ("language", "julia", "language must be 'python'", True),
    ("kernel_type", "notebook", "kernel_type must be 'script'", False),
    ("is_private", "yes", "is_private must be true or false, got 'yes'", True),
    ("enable_gpu", None, "enable_gpu must be true or false, got None", False),
    ("enable_internet", True, "enable_internet must be false", False),
    ("enable_internet", None, "enable_internet must be true or false", False),
    ("competition_sources", ["digit-recognizer-2"], "competition_sources must be [\"digit-recognizer\"]", False),
    ("competition_sources", None, "competition_sources must be [\"digit-recognizer\"], got None", False),
    ("dataset_sources", ["mnist"], "dataset_sources entry 'mnist' must look like owner/slug", True),
    ("kernel_sources", ["a/b/c/d"], "kernel_sources entry 'a/b/c/d' must look like owner/slug", True),
    ("model_sources", ["owner/model"], "model_sources entry 'owner/model' must look like", True),
    ("docker_image_pinning_type", "newest", "docker_image_pinning_type must be 'original' or 'latest'", True),
]


def write_metadata(folder, **changes):
    meta = kernel.metadata(KERNEL_ID)
    for key, value in changes.items():
        if value is None:
            del meta[key]
        else:
            meta[key] = value
    (folder / kernel.CODE_FILE).write_text("print('hi')\n")
    (folder / kernel.METADATA_FILE).write_text(json.dumps(meta))
    return folder


@pytest.mark.parametrize("field, value, message, client_refuses", BAD_METADATA)
def test_check_metadata_names_each_bad_field(tmp_path, fake_kaggle, field, value, message, client_refuses):
    folder = write_metadata(tmp_path, **{field: value})
    with pytest.raises(KernelError, match=re.escape(message)) as error:
        kernel.check_metadata(folder)
    assert "\n" not in str(error.value) and str(error.value).endswith(
        f"rebuild it with `kagglekit kernel build -p {folder}`")
    if client_refuses:  # our check applies the client's own rules: the client refuses it before any request
        with pytest.raises(KernelError, match="is not valid for Kaggle"):
            kaggle_api.push_kernel(folder)
        assert fake_kaggle.pushes == []


def test_check_metadata_accepts_what_build_writes_and_names_all_problems_at_once(tmp_path):
    assert kernel.check_metadata(write_metadata(tmp_path))["id"] == KERNEL_ID
    write_metadata(tmp_path, title="Abcd", enable_internet="true", language=None)
    with pytest.raises(KernelError) as error:
        kernel.check_metadata(tmp_path)
    for field in ("title", "language", "enable_internet"):
        assert f"{field} must" in str(error.value)


def test_check_metadata_without_a_usable_file(tmp_path):
    with pytest.raises(KernelError, match="kernel-metadata.json not found; build it with `kagglekit kernel build"):
        kernel.check_metadata(tmp_path)
    (tmp_path / kernel.METADATA_FILE).write_text("{not json")
    with pytest.raises(KernelError, match="is not readable JSON"):
        kernel.check_metadata(tmp_path)
    (tmp_path / kernel.METADATA_FILE).write_text("[]")
    with pytest.raises(KernelError, match="it must hold a JSON object"):
        kernel.check_metadata(tmp_path)


# --- the CLI through the real kaggle client and the fake server ----------------------------------------
PUSHED = f"Pushed {KERNEL_ID} version 1: https://www.kaggle.com/code/{KERNEL_ID}"
FOLLOW = "Follow it with `kagglekit kernel status`, then `kagglekit kernel submit -m MESSAGE`."
NO_RECORD = f"Note: no push of {KERNEL_ID} recorded in runs/kernel-pushes.json; using its latest run on Kaggle"


@pytest.fixture
def built(fake_kaggle, tmp_path, monkeypatch):
    """A kernel built into ./kernels/digit-recognizer (tiny `quick` preset), as a fresh clone has it."""
    monkeypatch.chdir(tmp_path)
    result = run("kernel", "build", "--preset", "quick")
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"Built kernels/digit-recognizer/kagglekit_digit_recognizer\.py \(\d+ KiB, preset quick\); "
                        r"push it with `kagglekit kernel push`\n", result.stdout)
    return tmp_path / kernel.DEFAULT_FOLDER


@pytest.fixture
def pushed(fake_kaggle, built):
    assert run("kernel", "push").exit_code == 0
    return built


def push_again(fake_kaggle):
    """A second version, pushed from here: version 2 is then the one the commands follow."""
    result = run("kernel", "push")
    assert result.exit_code == 0 and f"Pushed {KERNEL_ID} version 2:" in result.stdout


def push_from_elsewhere(folder=kernel.DEFAULT_FOLDER):
    """A push not recorded here (another machine, Kaggle's editor): a new latest version."""
    with tempfile.TemporaryDirectory() as tmp:
        kaggle_api.push_kernel(kernel.stage_for_push(folder, kernel.check_metadata(folder), KERNEL_ID, tmp))


@pytest.mark.parametrize("command", ["build", "push", "status", "output", "submit"])
def test_kernel_help(command):
    result = run("kernel", command, "--help")
    assert result.exit_code == 0 and "Example: kagglekit kernel" in result.output


def test_build_needs_no_credentials_and_writes_the_same_id_for_everyone(fake_kaggle, tmp_path, monkeypatch):
    fake_kaggle.kaggle_json.unlink()
    monkeypatch.chdir(tmp_path)
    assert run("kernel", "build").exit_code == 0
    meta = json.loads((tmp_path / kernel.DEFAULT_FOLDER / kernel.METADATA_FILE).read_text())
    assert meta["id"] == "kagglekit/kagglekit-digit-recognizer" and meta["title"] == "Kagglekit Digit Recognizer"
    assert fake_kaggle.calls == []


def test_a_fresh_clone_pushes_as_the_user_and_leaves_the_committed_folder_alone(fake_kaggle, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = shutil.copytree(CHECKED_IN, tmp_path / kernel.DEFAULT_FOLDER)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    result = run("kernel", "push")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{PUSHED}\n{FOLLOW}\n"
    assert fake_kaggle.pushes[0]["slug"] == KERNEL_ID
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert json.loads(Path("runs/kernel-pushes.json").read_text()) == {KERNEL_ID: 1}


def test_push_with_only_an_api_token_takes_the_username_kaggle_reports(fake_kaggle, built, monkeypatch):
    fake_kaggle.kaggle_json.unlink()
    monkeypatch.setenv("KAGGLE_API_TOKEN", TOKEN)
    result = run("kernel", "push")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == PUSHED
    assert fake_kaggle.called("IntrospectToken") and fake_kaggle.pushes[0]["slug"] == KERNEL_ID


def test_push_as_another_id(fake_kaggle, built):
    result = run("kernel", "push", "--id", "fakeuser/my-digits")
    assert result.stdout.splitlines()[0] == "Pushed fakeuser/my-digits version 1: https://www.kaggle.com/code/fakeuser/my-digits"
    assert (fake_kaggle.pushes[0]["slug"], fake_kaggle.pushes[0]["newTitle"]) == ("fakeuser/my-digits", "My Digits")
    assert json.loads((built / kernel.METADATA_FILE).read_text())["id"] == kernel.DEFAULT_ID
    assert run("kernel", "status").stdout == "fakeuser/my-digits version 1: complete\n"  # the last push


def test_make_push_passes_the_id(tmp_path):
    def make(*args):
        # --no-print-directory: under `make test` this make is a sub-make, which would name its folder
        return subprocess.run(["make", "--no-print-directory", "-n", "-o", ".venv/.installed", *args], cwd=REPO,
                              capture_output=True, text=True, check=True).stdout
    assert make("push", "ID=you/my-digits") == ".venv/bin/kagglekit kernel push --id you/my-digits\n"
    assert make("push") == ".venv/bin/kagglekit kernel push\n"
    assert make("kernel") == ".venv/bin/kagglekit kernel build\n"


def test_push_as_someone_else(fake_kaggle, built):
    assert error_line(run("kernel", "push", "--id", "otheruser/kagglekit-digit-recognizer")) == (
        "Error: Kaggle refused to push kernel 'otheruser/kagglekit-digit-recognizer' (403: Permission denied to "
        "save kernel otheruser/kagglekit-digit-recognizer): you can push only as your own Kaggle user; leave --id "
        "out, or pass --id YOUR_USERNAME/slug.")
    assert not Path("runs/kernel-pushes.json").exists()


def test_push_with_a_bad_id(fake_kaggle, built):
    assert error_line(run("kernel", "push", "--id", "fakeuser/Digits")) == (
        "Error: cannot push as 'fakeuser/Digits': id must be USERNAME/slug, the username letters, digits, hyphens "
        "or underscores and the slug 5+ lowercase letters, digits or hyphens, got 'fakeuser/Digits'; pass --id "
        "YOUR_USERNAME/kagglekit-digit-recognizer or leave --id out to push as your Kaggle user")
    assert fake_kaggle.pushes == []


def test_build_with_a_bad_id(fake_kaggle, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = error_line(run("kernel", "build", "--id", "fakeuser/Digits"))
    assert "id must be USERNAME/slug" in line and "pass --id USERNAME/kagglekit-digit-recognizer" in line
    assert not (tmp_path / "kernels").exists() or not any((tmp_path / "kernels").iterdir())


def test_hints_after_build_and_push_in_another_folder_paste_as_they_are(fake_kaggle, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("kernel", "build", "--preset", "quick", "-p", "my kernel")
    assert result.stdout.endswith("; push it with `kagglekit kernel push -p 'my kernel'`\n")
    hint = re.search(r"`(kagglekit kernel push[^`]*)`", result.stdout).group(1)
    result = run(*shlex.split(hint)[1:])
    assert result.stdout == f"{PUSHED}\n{FOLLOW}\n"
    assert run("kernel", "status").stdout == f"{KERNEL_ID} version 1: complete\n"
    (tmp_path / "my kernel" / kernel.METADATA_FILE).write_text("{}")
    assert error_line(run("kernel", "push", "-p", "my kernel")).endswith(
        "fix it, or rebuild it with `kagglekit kernel build -p 'my kernel'`")


def test_push_uploads_the_script_with_explicit_settings(fake_kaggle, built):
    result = run("kernel", "push")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{PUSHED}\n{FOLLOW}\n"
    body = fake_kaggle.pushes[0]
    assert body["slug"] == KERNEL_ID and body["newTitle"] == "Kagglekit Digit Recognizer"
    assert body["text"] == (built / kernel.CODE_FILE).read_text()
    assert (body["language"], body["kernelType"]) == ("python", "script")
    assert body["isPrivate"] is True and body["enableInternet"] is False
    assert body["competitionDataSources"] == ["digit-recognizer"]
    assert not body.get("enableGpu") and not body.get("enableTpu")


def test_push_checks_the_metadata_before_any_request(fake_kaggle, built):
    meta = json.loads((built / kernel.METADATA_FILE).read_text())
    meta.update(enable_internet=True, title="Abc")
    (built / kernel.METADATA_FILE).write_text(json.dumps(meta))
    line = error_line(run("kernel", "push"))
    assert "title must be at least 5 characters" in line and "enable_internet must be false" in line
    assert fake_kaggle.called("SaveKernel") == []


def test_push_refused_404(fake_kaggle, built):
    fake_kaggle.fail("SaveKernel", 404, message="Notebook not found")
    assert "(404: Notebook not found)" in error_line(run("kernel", "push"))


def test_push_with_an_error_in_the_response_fails(fake_kaggle, built):
    fake_kaggle.respond("SaveKernel", {"error": "Notebook not found"})
    assert error_line(run("kernel", "push")) == \
        f"Error: Kaggle refused to push kernel '{KERNEL_ID}': Notebook not found"


@pytest.mark.parametrize("rpc, args", [("SaveKernel", ("kernel", "push")),
                                       ("GetKernelSessionStatus", ("kernel", "status")),
                                       ("ListKernelSessionOutput", ("kernel", "output"))])
def test_kernel_commands_say_each_retry(fake_kaggle, pushed, rpc, args):
    fake_kaggle.kernel_files = {"submission.csv": fake_kaggle.submission_csv().encode()}
    fake_kaggle.fail(rpc, 429)
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "Kaggle answered HTTP 429; retrying in 0.01 s (2/4)" in result.stderr.splitlines()


def test_status_follows_the_pushed_version(fake_kaggle, pushed):
    push_again(fake_kaggle)
    fake_kaggle.kernel_statuses = ["QUEUED", "RUNNING", "COMPLETE"]
    for state in ("queued", "running", "complete"):
        result = run("kernel", "status")
        assert result.exit_code == 0 and result.stdout == f"{KERNEL_ID} version 2: {state}\n"
    assert {c["versionLabel"] for c in fake_kaggle.called("GetKernelSessionStatus")} == {"v2"}


def test_status_error_shows_kaggles_failure_message(fake_kaggle, pushed):
    fake_kaggle.kernel_statuses = ["ERROR"]
    fake_kaggle.kernel_failure = "MemoryError: Unable to allocate 3.2 GiB"
    assert error_line(run("kernel", "status")) == (
        f"Error: kernel {KERNEL_ID} version 1 failed on Kaggle: MemoryError: Unable to allocate 3.2 GiB; read its "
        "log (`kagglekit kernel output`), fix the cause and push again")


def test_status_without_a_recorded_push_follows_the_latest_run_and_says_so(fake_kaggle, built):
    result = run("kernel", "status")
    assert result.stderr.splitlines()[0] == NO_RECORD
    assert error_line(result) == (f"Error: Kaggle has no kernel '{KERNEL_ID}' you can use (404): check the id "
                                  "(owner/slug, owner = your username) and push it first with `kagglekit kernel push`.")
    push_from_elsewhere()
    result = run("kernel", "status")
    assert (result.stdout, result.stderr) == (f"{KERNEL_ID}: complete\n", f"{NO_RECORD}\n")
    assert "versionLabel" not in fake_kaggle.called("GetKernelSessionStatus")[-1]


def test_status_with_nothing_pushed_or_built_here(fake_kaggle, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert error_line(run("kernel", "status")) == (
        "Error: no kernel was pushed from here (runs/kernel-pushes.json) and kernels/digit-recognizer holds none: "
        "run it where you pushed from, or pass --id USER/SLUG")
    assert fake_kaggle.calls == []


def test_output_fetches_submission_and_log(fake_kaggle, pushed):
    fake_kaggle.kernel_files = {"submission.csv": fake_kaggle.submission_csv().encode()}
    fake_kaggle.kernel_log = "epoch 1/5 ...\n"
    result = run("kernel", "output", "-p", "out")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Output of {KERNEL_ID} version 1 in out: check it with `kagglekit validate out/submission.csv`\n"
    assert sorted(os.listdir("out")) == ["kagglekit-digit-recognizer.log", "submission.csv"]
    assert Path("out/submission.csv").read_text() == fake_kaggle.submission_csv()


def test_output_without_a_submission(fake_kaggle, pushed):
    fake_kaggle.kernel_files = {"other.txt": b"x"}
    line = error_line(run("kernel", "output"))
    assert line.startswith(f"Error: kernel {KERNEL_ID} version 1 has no submission.csv in its output (got other.txt")


@pytest.fixture
def sample(pushed):
    """data/digit-recognizer/sample_submission.csv for the fake's five test images."""
    folder = Path("data") / "digit-recognizer"
    folder.mkdir(parents=True)
    (folder / "sample_submission.csv").write_text("ImageId,Label\n" + "".join(f"{i},0\n" for i in range(1, 6)))


def test_submit_fetches_validates_and_uploads(fake_kaggle, sample):
    fake_kaggle.kernel_files = {"submission.csv": fake_kaggle.submission_csv(correct=4).encode()}
    result = run("kernel", "submit", "-m", "from the kernel", "--wait")
    assert result.exit_code == 0, result.output
    assert f"Fetched the output of kernel {KERNEL_ID} version 1\n" in result.stdout
    assert "Submitted runs/kernel-output/submission.csv (5 rows) to digit-recognizer" in result.stdout
    assert "Public score: " in result.stdout
    assert fake_kaggle.uploads == [fake_kaggle.submission_csv(correct=4).encode()]
    assert fake_kaggle.submissions[0]["description"] == "from the kernel"


@pytest.mark.parametrize("status, said", [
    ("RUNNING", "is running, not complete: its output would be stale; wait until `kagglekit kernel status` "
                "says complete, then submit."),
    ("QUEUED", "is queued, not complete: its output would be stale; wait until `kagglekit kernel status` "
               "says complete, then submit."),
    ("CANCEL_ACKNOWLEDGED", "is cancel acknowledged, not complete: its output would be stale; wait until "
                            "`kagglekit kernel status` says complete, then submit."),
    ("ERROR", "failed on Kaggle: MemoryError; its output is not submitted; read its log (`kagglekit kernel "
              "output`), fix the cause and push again."),
])
def test_submit_refuses_a_run_that_is_not_complete(fake_kaggle, sample, status, said):
    # Version 1 finished with an output; version 2 has not: that old output must not be sent.
    fake_kaggle.kernel_outputs = {1: {"submission.csv": fake_kaggle.submission_csv(correct=4).encode()}}
    push_again(fake_kaggle)
    fake_kaggle.kernel_statuses, fake_kaggle.kernel_failure = [status], "MemoryError"
    assert error_line(run("kernel", "submit", "-m", "stale")) == f"Error: kernel {KERNEL_ID} version 2 {said}"
    assert fake_kaggle.called("ListKernelSessionOutput") == [] and fake_kaggle.uploads == []


def test_submit_sends_the_output_of_the_version_pushed_from_here(fake_kaggle, sample):
    old, new = fake_kaggle.submission_csv(correct=2).encode(), fake_kaggle.submission_csv(correct=4).encode()
    fake_kaggle.kernel_outputs = {1: {"submission.csv": old}, 2: {"submission.csv": new},
                                  3: {"submission.csv": b"version 3"}}
    push_again(fake_kaggle)
    fake_kaggle.kernel_statuses = ["RUNNING"]  # a version 3 pushed from elsewhere is still running
    push_from_elsewhere()
    result = run("kernel", "submit", "-m", "version 2")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Fetched the output of kernel {KERNEL_ID} version 2\n")
    assert fake_kaggle.uploads == [new]
    assert fake_kaggle.called("ListKernelSessionOutput")[-1]["versionLabel"] == "v2"


def test_submit_refuses_an_invalid_output(fake_kaggle, sample):
    fake_kaggle.kernel_files = {"submission.csv": b"ImageId,Label\n1,0\n2,11\n3,0\n4,0\n5,0\n"}
    line = error_line(run("kernel", "submit", "-m", "bad"))
    assert line.startswith("Error: not submitted: the kernel's output is invalid: ")
    assert "Label has 1 value outside 0..9" in line
    assert fake_kaggle.called("StartSubmissionUpload") == [] and fake_kaggle.uploads == []


def test_submit_without_a_submission(fake_kaggle, sample):
    fake_kaggle.kernel_files = {}
    assert "has no submission.csv" in error_line(run("kernel", "submit", "-m", "nothing"))
    assert fake_kaggle.uploads == []
