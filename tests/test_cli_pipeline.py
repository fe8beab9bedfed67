"""Every pipeline command through Click: --help, the happy path and each error (one line, exit 1)."""
import dataclasses
import json

import numpy as np
import pytest
from click.testing import CliRunner

from cli_helpers import error_line
from layer_stand_ins import stand_ins  # noqa: F401 (a fixture)
from kagglekit.cli import main
from kagglekit import ensemble, pipeline, provenance
from kagglekit.config import TrainConfig
from kagglekit.metrics import format_estimate
from competition import write_competition

FAST = ["--preset", "quick", "--epochs", "1", "--val-size", "20"]
COMMANDS = ["train", "evaluate", "predict", "validate", "score", "run"]


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """Run kagglekit in a fresh working directory; returns a function(args) -> result."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    return lambda args: runner.invoke(main, [str(a) for a in args])


def fails(result, message):
    """The command failed with exit 1, no traceback, and this one line: "Error: " + message."""
    assert error_line(result) == "Error: " + message


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_an_example(cli, command):
    result = cli([command, "--help"])
    assert result.exit_code == 0 and "Example: kagglekit " + command in result.output


def test_train_then_evaluate_then_predict(cli, tiny_competition, tmp_path):
    result = cli(["train", *FAST, "-p", tiny_competition, "--name", "first", "--hidden", "16,8"])
    assert result.exit_code == 0, result.output
    run = tmp_path / "runs" / "first"
    assert {p.name for p in run.iterdir()} - {"plots"} == {"model.npz", "config.json", "metrics.json", "history.csv",
                                                           "report.md"}
    assert json.loads((run / "config.json").read_text())["hidden"] == [16, 8]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["validation"]["n"] == 20 and len(metrics["validation"]["confusion"]) == 10
    assert (run / "history.csv").read_text().splitlines()[0] == "epoch,train_loss,train_acc,val_loss,val_acc,seconds"

    result = cli(["evaluate", run])
    assert result.exit_code == 0, result.output
    assert f"Validation accuracy: {format_estimate(metrics['estimate'])}" in result.output
    assert metrics["estimate"]["n"] == 20 and metrics["estimate"]["method"] == "holdout"
    assert "confusion matrix" in result.output

    result = cli(["predict", "-p", tiny_competition, "-o", "out/sub.csv"])  # newest run by default
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "out" / "sub.csv").read_text().splitlines()
    assert lines[0] == "ImageId,Label" and len(lines) == 21 and lines[1].startswith("1,")

    result = cli(["validate", "out/sub.csv", "-p", tiny_competition])
    assert result.exit_code == 0 and "valid submission, 20 rows" in result.output


def test_predict_accepts_model_file_and_defaults_into_run(cli, tiny_competition, tmp_path):
    cli(["train", *FAST, "-p", tiny_competition, "--name", "r"])
    result = cli(["predict", tmp_path / "runs" / "r" / "model.npz", "-p", tiny_competition])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "runs" / "r" / "submission.csv").exists()


def test_evaluate_folds(cli, tiny_competition):
    cli(["train", *FAST, "-p", tiny_competition])
    result = cli(["evaluate", "--folds", "3", "-p", tiny_competition])
    assert result.exit_code == 0, result.output
    assert "fold 3/3" in result.output and "3-fold out-of-fold accuracy: " in result.output and "±" in result.output
    fails(cli(["evaluate", "--folds", "61", "-p", tiny_competition]), "--folds must be between 2 and 60, got 61")
    for folds in ("0", "1"):  # 0 was silently ignored: a plain evaluation instead of the K-fold asked for
        result = cli(["evaluate", "--folds", folds, "-p", tiny_competition])
        assert result.exit_code == 2
        assert result.output.splitlines()[-1] == ("Error: Invalid value for '--folds': K-fold cross-validation "
                                                f"needs K >= 2, got {folds}")


def test_every_config_field_has_an_option_that_reaches_the_run(cli, tiny_competition, tmp_path):
    help_text = cli(["train", "--help"]).output
    for field in dataclasses.fields(TrainConfig):
        assert f"--{field.name.replace('_', '-')} " in help_text, field.name
    result = cli(["train", *FAST, "-p", tiny_competition, "--name", "r", "--dropout", "0.3",
                  "--activation", "tanh", "--weight-decay", "1e-4"])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "runs" / "r" / "config.json").read_text())
    assert (config["dropout"], config["activation"], config["weight_decay"], config["epochs"]) == (0.3, "tanh", 1e-4, 1)


def test_score_command(cli, tmp_path):
    (tmp_path / "sub.csv").write_text("ImageId,Label\n1,1\n2,2\n")
    (tmp_path / "sol.csv").write_text("ImageId,Label,Usage\n1,1,Public\n2,3,Private\n")
    result = cli(["score", "sub.csv", "--solution", "sol.csv"])
    assert result.exit_code == 0
    assert "Accuracy: 0.50000 on 2 rows" in result.output
    assert "Public score: 1.00000" in result.output and "Private score: 0.00000" in result.output
    fails(cli(["score", "sub.csv", "--solution", "nope.csv"]), "solution nope.csv not found; check the path")


def test_run_on_bundled_sample_end_to_end(cli, tmp_path):
    """`kagglekit run` with no data: says it uses the bundled sample and leaves a validated submission."""
    result = cli(["run", "--preset", "quick", "--name", "e2e"])
    assert result.exit_code == 0, result.output
    assert "using the bundled sample of 5,000 real MNIST digits" in result.output
    # unpacking the sample read and checked every row (and cached the parse), so no first parse waits here
    submission = tmp_path / "runs" / "e2e" / "submission.csv"
    assert f"Submission ready: {submission.relative_to(tmp_path)}" in result.output
    metrics = json.loads((tmp_path / "runs" / "e2e" / "metrics.json").read_text())
    assert metrics["validation"]["accuracy"] > 0.85  # real digits: even the quick preset learns them
    rows = submission.read_text().splitlines()
    assert len(rows) == 1001 and {r.split(",")[1] for r in rows[1:]} <= set("0123456789")
    assert len({r.split(",")[1] for r in rows[1:]}) == 10


def test_a_model_no_better_than_chance_is_called_so(cli, sample_competition, tmp_path):
    """--lr 100 stays finite but learns nothing: a loud warning, and no "ready" submission."""
    result = cli(["run", "--preset", "quick", "--lr", "100", "-p", sample_competition, "--name", "r", "-q"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "runs" / "r" / "metrics.json").read_text())
    acc = metrics["validation"]["accuracy"]
    warning = (f"validation accuracy {acc:.4f} is no better than chance (0.10 for 10 digits): the model learned "
               f"nothing; lower --lr (now 100) or check the data")
    assert metrics["warning"] == warning
    assert result.stderr.splitlines() == [f"Warning: {warning}"]
    assert result.stdout.splitlines()[-1] == (f"Submission written: runs/r/submission.csv (validated against "
                                              f"{sample_competition}/sample_submission.csv, but {warning})")
    assert "ready" not in result.stdout


def test_a_rising_training_loss_is_called_so():
    assert pipeline.learning_warning({"accuracy": 0.9, "n": 20}, [0.5, 0.25, 0.75], 0.1) == (
        "the training loss rose from 0.5000 (epoch 1) to 0.7500 (epoch 3): training diverged; lower --lr (now 0.1)")
    assert pipeline.learning_warning({"accuracy": 0.15, "n": 49}, [0.5, 0.4], 0.1) == ""  # too few rows to judge
    assert pipeline.learning_warning({"accuracy": 0.16, "n": 50}, [0.5, 0.4], 0.1) == ""


def test_ctrl_c_in_training_exits_130_and_says_nothing_was_kept(cli, tiny_competition, tmp_path, monkeypatch):
    def interrupted(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(pipeline, "train_model", interrupted)
    result = cli(["train", *FAST, "-p", tiny_competition, "--name", "r"])
    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1] == "Interrupted: nothing was kept (the run folder runs/r was removed)"
    assert "Aborted!" not in result.output and not (tmp_path / "runs" / "r").exists()


def test_ctrl_c_in_predict_exits_130_and_says_no_submission_was_written(cli, tiny_competition, tmp_path,
                                                                         monkeypatch):
    assert cli(["train", *FAST, "-p", tiny_competition, "--name", "r"]).exit_code == 0

    def interrupted(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(ensemble, "predict_test", interrupted)
    result = cli(["predict", "r", "-p", tiny_competition])
    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1] == "Interrupted: runs/r/submission.csv was not written"
    assert not (tmp_path / "runs" / "r" / "submission.csv").exists()


# ---- which data and which run: the run's own, or said on stdout ----

@pytest.fixture
def trained(cli, tiny_competition, tmp_path):
    """runs/r trained on tiny_competition (an absolute folder outside the working directory)."""
    assert cli(["train", *FAST, "-p", tiny_competition, "--name", "r"]).exit_code == 0
    return tmp_path / "runs" / "r"


def test_a_run_records_its_data_folder_and_train_csv(trained, tiny_competition):
    data = json.loads((trained / "metrics.json").read_text())["data"]
    train_csv = tiny_competition / "train.csv"
    assert data == {"folder": str(tiny_competition.resolve()),
                    "train_csv": {"size": train_csv.stat().st_size, "sha256": provenance.train_fingerprint(
                        tiny_competition)["sha256"]}}
    assert len(data["train_csv"]["sha256"]) == 64


def test_predict_and_evaluate_use_the_runs_own_data_from_anywhere(cli, trained, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = cli(["predict", trained, "-o", "sub.csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "Submission written to sub.csv (validated)\n"  # nothing about other data
    assert len((elsewhere / "sub.csv").read_text().splitlines()) == 21  # tiny's 20 test rows, not the sample's
    assert sorted(p.name for p in elsewhere.iterdir()) == ["sub.csv"]  # no sample unpacked here
    monkeypatch.chdir(trained)  # evaluate from inside the run folder: its own holdout, not the sample's
    est = json.loads((trained / "metrics.json").read_text())["estimate"]
    result = cli(["evaluate", "."])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"Validation accuracy: {format_estimate(est)}"


def test_newest_run_is_named_first(cli, trained):
    for command in (["evaluate"], ["predict", "-o", "sub.csv"]):
        result = cli(command)
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines()[0] == "Using the newest run: runs/r"


def test_other_data_is_said_on_stdout_and_refused_by_evaluate(cli, trained, tiny_competition, tmp_path):
    other = write_competition(tmp_path / "other", seed=1)
    result = cli(["predict", "r", "-p", "other", "-o", "sub.csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (f"Using other data than runs/r was trained on: other (-p names it; "
                                             f"runs/r was trained on {tiny_competition.resolve()})")
    fails(cli(["evaluate", "r", "-p", other]),
          f"{other}/train.csv is not the train.csv runs/r was trained on ({tiny_competition.resolve()}/train.csv): "
          f"its holdout rows would be other rows; pass -p FOLDER holding that file, or train a run on this data")
    result = cli(["evaluate", "r", "--folds", "2", "-p", "other"])  # a fresh K-fold may use any data
    assert result.exit_code == 0 and result.stdout.startswith("Using other data than runs/r was trained on: other")


def test_changed_or_missing_data_is_never_replaced_by_the_sample(cli, trained, tiny_competition, tmp_path):
    (tiny_competition / "train.csv").write_text((tiny_competition / "train.csv").read_text().replace("\n1,", "\n2,", 1))
    where = tiny_competition.resolve()
    fails(cli(["evaluate", "r"]), f"{where}/train.csv has changed since runs/r was trained on it, and there is no "
                                  f"other competition data in data/digit-recognizer: pass -p FOLDER, or run "
                                  f"`kagglekit download`")
    write_competition(tmp_path / "data" / "digit-recognizer", seed=2)
    result = cli(["predict", "r"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (f"Using other data than runs/r was trained on: data/digit-recognizer "
                                             f"({where}/train.csv has changed since runs/r was trained on it)")
    assert cli(["evaluate", "r"]).exit_code == 1  # other train.csv: other holdout rows
    tiny_competition.rename(tmp_path / "moved")
    (tmp_path / "data" / "digit-recognizer" / "train.csv").unlink()
    fails(cli(["predict", "r"]), f"the data runs/r was trained on ({where}) is gone, and there is no other "
                                 f"competition data in data/digit-recognizer: pass -p FOLDER, or run "
                                 f"`kagglekit download`")
    assert not (tmp_path / "data" / "digit-recognizer-sample").exists()


# ---- errors: one line, exit 1, no traceback ----

def test_missing_data_folder(cli, tmp_path):
    fails(cli(["train", *FAST, "-p", "nowhere"]),
          "data folder nowhere not found; run `kagglekit download` or pass -p FOLDER")


def test_test_csv_given_as_train(cli, tiny_competition):
    (tiny_competition / "train.csv").write_bytes((tiny_competition / "test.csv").read_bytes())
    fails(cli(["train", *FAST, "-p", tiny_competition]),
          f"{tiny_competition}/train.csv has no label column: it looks like test.csv; pass the training file")


def test_header_off_by_one(cli, tiny_competition):
    path = tiny_competition / "train.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0].rsplit(",", 1)[0]] + lines[1:]) + "\n")
    fails(cli(["train", *FAST, "-p", tiny_competition]),
          f"{path} has 784 columns, expected 785 (label,...,pixel783); is this the right file?")


def test_non_numeric_pixel(cli, tiny_competition):
    path = tiny_competition / "train.csv"
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace(",", ",x", 1)
    path.write_text("\n".join(lines) + "\n")
    fails(cli(["train", *FAST, "-p", tiny_competition]),
          f"{path} line 4 column 'pixel0': 'x50' is not an integer in 0..255; fix the file or download it again")


def test_empty_train_file(cli, tiny_competition):
    (tiny_competition / "train.csv").write_text("")
    fails(cli(["train", *FAST, "-p", tiny_competition]),
          f"{tiny_competition}/train.csv is empty; download the competition files again (kagglekit download --force)")


def test_diverged_training_leaves_no_run_folder(cli, tiny_competition, tmp_path):
    fails(cli(["train", *FAST, "-p", tiny_competition, "--lr", "1e38", "--epochs", "3"]),
          "training diverged at epoch 2 (loss nan, weights not finite); lower the learning rate (now 1e+38) and retry")
    assert (tmp_path / "runs").is_dir() and not any((tmp_path / "runs").iterdir())


def test_unknown_preset_and_bad_values(cli, tiny_competition):
    result = cli(["train", "--preset", "huge"])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == ("Error: Invalid value for '--preset': 'huge' is not one of "
                                              "'best', 'cnn', 'lenet', 'mlp', 'quick', 'seed'.")
    fails(cli(["train", *FAST, "--hidden", "0"]),
          "hidden must be one or more positive sizes, e.g. --hidden 128,64, got (0,)")
    result = cli(["train", "--hidden", "a,b"])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == ("Error: Invalid value for '--hidden': expected sizes separated by "
                                              "commas, e.g. 128,64; got 'a,b'")
    fails(cli(["train", *FAST, "--lr", "-1"]), "lr must be > 0, got -1.0")
    result = cli(["train", *FAST, "--val-size", "100", "-p", tiny_competition])  # too many: a fifth instead
    assert result.exit_code == 0, result.output
    assert ("Note: held out 12 of train.csv's 60 rows for validation, as --val-size 100 would leave too few to "
            "train on; set --val-size to choose") in result.output


def test_no_model_yet(cli, tiny_competition):
    fails(cli(["evaluate", "-p", tiny_competition]),
          "no trained model found in runs/; run `kagglekit train` first or pass a model")
    fails(cli(["predict", "missing-run", "-p", tiny_competition]),
          "run missing-run not found; pass a run folder or name from `kagglekit runs`")


def test_corrupt_model(cli, tiny_competition, tmp_path):
    cli(["train", *FAST, "-p", tiny_competition, "--name", "r"])
    model = tmp_path / "runs" / "r" / "model.npz"
    model.write_bytes(model.read_bytes()[:500])
    fails(cli(["predict", "r", "-p", tiny_competition]),
          "runs/r/model.npz is corrupt or not a kagglekit model (BadZipFile); retrain it with `kagglekit train`")


def test_model_from_another_architecture(cli, tiny_competition, tmp_path):
    from kagglekit.nn.network import build_network
    net = build_network(TrainConfig(hidden=(4,)), np.random.default_rng(0), n_in=100)
    net.save(tmp_path / "small.npz")
    fails(cli(["predict", "small.npz", "-p", tiny_competition]),
          "the model takes 100 inputs but test.csv has 784 pixels; use a model trained on this competition's data")


def test_predict_never_leaves_half_written_file(cli, tiny_competition, tmp_path):
    cli(["train", *FAST, "-p", tiny_competition, "--name", "r"])
    (tiny_competition / "sample_submission.csv").write_text("ImageId,Label\n1,0\n")
    fails(cli(["predict", "r", "-p", tiny_competition, "-o", "sub.csv"]),
          f"{tiny_competition}: test.csv has 20 rows but sample_submission.csv has 1; "
          "download the competition files again")
    assert not (tmp_path / "sub.csv").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_validate_notes_columns_in_the_other_order(cli, tmp_path, tiny_competition):
    (tmp_path / "swapped.csv").write_text("Label,ImageId\n" + "".join(f"{i % 10},{i}\n" for i in range(1, 21)))
    result = cli(["validate", "swapped.csv", "-p", tiny_competition])
    assert result.exit_code == 0, result.output
    assert result.stdout == "swapped.csv: valid submission, 20 rows\n"
    assert result.stderr == ("Note: swapped.csv: columns are in the order Label,ImageId; Kaggle matches them by "
                             "name, so this is fine\n")


def test_validate_errors(cli, tmp_path, tiny_competition):
    (tmp_path / "bad.csv").write_text("ImageId,Label\n" + "".join(f"{i},{i % 12}\n" for i in range(1, 21)))
    fails(cli(["validate", "bad.csv", "-p", tiny_competition]),
          "bad.csv: Label has 2 values outside 0..9, first at line 11: 10")
    fails(cli(["validate", "nope.csv"]), "submission nope.csv not found; check the path")


# ---- --arch: the network as a spec ----

def test_arch_trains_and_is_recorded(cli, tiny_competition, tmp_path):
    result = cli(["train", *FAST, "-p", tiny_competition, "--name", "a", "--arch", "dense32,dropout0.1"])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "runs" / "a" / "config.json").read_text())
    assert config["arch"] == "dense32,dropout0.1"
    from kagglekit.nn.network import Network
    net = Network.load(tmp_path / "runs" / "a" / "model.npz")
    assert [layer.kind for layer in net.layers] == ["dense", "relu", "dropout", "dense"]
    assert net.meta["config"]["arch"] == "dense32,dropout0.1"
    assert cli(["predict", "a", "-p", tiny_competition]).exit_code == 0


def test_hidden_still_works_and_config_json_says_what_was_built(cli, tiny_competition, tmp_path):
    result = cli(["train", *FAST, "-p", tiny_competition, "--name", "h", "--hidden", "32,16"])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "runs" / "h" / "config.json").read_text())
    assert (config["hidden"], config["arch"]) == ([32, 16], "dense32,dense16")


@pytest.mark.parametrize("args, message", [
    (["--arch", "conv32x3"], "bad --arch token 'conv32x3': expected convNkK[pP][sS], pool[K], bn, denseN, "
                             "dropoutR (e.g. conv32k3,pool,dense128)"),
    (["--arch", "dense64,dropout1.5"], "bad --arch token 'dropout1.5': dropoutR needs 0 <= R < 1; expected "
                                       "convNkK[pP][sS], pool[K], bn, denseN, dropoutR (e.g. conv32k3,pool,dense128)"),
    (["--arch", ""], "--arch is empty; expected convNkK[pP][sS], pool[K], bn, denseN, dropoutR "
                     "(e.g. conv32k3,pool,dense128)"),
    (["--arch", "dense32,conv8k3"], "bad --arch token 'conv8k3' (#2): conv and pool work on the image, so they "
                                    "come first, before any dense, bn or dropout"),
    (["--arch", "dense32", "--hidden", "16"], "--arch and --hidden both describe the network; give one of them"),
])
def test_bad_arch_fails_before_reading_data_and_leaves_nothing(cli, tmp_path, args, message):
    fails(cli(["train", *FAST, "-p", "nowhere", *args]), message)  # not "data folder nowhere not found"
    assert not (tmp_path / "runs").exists()


def test_arch_too_deep_for_its_input_fails_at_its_token(cli, tmp_path, stand_ins):
    fails(cli(["train", *FAST, "-p", "nowhere", "--arch", "conv8k5,pool,pool,pool,conv8k5"]),
          "bad --arch token 'conv8k5' (#5) on input (8, 3, 3): kernel 5 is larger than its 3×3 input")
    assert not (tmp_path / "runs").exists()


def test_training_rows_missing_digits_get_a_warning_naming_them():
    report = {"accuracy": 0.99, "n": 500}
    y = np.array([0, 1, 2, 4] * 20)
    warning = pipeline.learning_warning(report, [0.5, 0.25], 0.1, trained_on=y)
    assert warning.startswith("the training rows hold no 3, 5, 6, 7, 8, 9: the model never predicts those digits")
    assert pipeline.learning_warning(report, [0.5, 0.25], 0.1, trained_on=np.arange(90) % 9).startswith(
        "the training rows hold no 9: the model never predicts that digit, which Kaggle's test has")
    assert pipeline.learning_warning(report, [0.5, 0.25], 0.1, trained_on=np.arange(100) % 10) == ""
    assert pipeline.learning_warning(report, [0.5, 0.25], 0.1, trained_on=np.arange(40) % 4) == ""  # too few to judge
