"""`kagglekit runs`: every finished run, best first, with the public score of its submissions, which
`submit` records in the run folder and `submit --wait` / `submissions` fill in (real client, fake
server)."""
import json

from cli_helpers import run
from test_cli_kaggle import cwd, downloaded  # noqa: F401 (fixtures: a fresh folder; the fake's data in it)
from kagglekit import runs
from kagglekit.kaggle_api import Submission


def train(*args):
    result = run("run", "--epochs", "1", "--val-size", "2", "-q", *args)
    assert result.exit_code == 0, result.output
    return result


def test_two_presets_then_submit_wait_then_runs(downloaded, cwd, fake_kaggle):
    train("--preset", "quick", "--name", "small")
    train("--preset", "mlp", "--name", "wide")
    result = run("submit", "--run", "small", "-m", "quick preset", "--wait")
    assert result.exit_code == 0, result.output
    public = result.stdout.splitlines()[-1].removeprefix("Public score: ")
    record = runs.read_record(cwd / "runs" / "small")
    assert [(s["ref"], s["message"], s["file"], s["status"], s["public"]) for s in record["submissions"]] == [
        (1000, "quick preset", "submission.csv", "complete", public)]
    assert f"| 1000 | {record['submissions'][0]['date']} | quick preset | complete | {public} | - |" in (
        cwd / "runs" / "small" / "report.md").read_text()

    table = json.loads(run("runs", "--json").stdout)
    assert [r["val_accuracy"] for r in table] == sorted((r["val_accuracy"] for r in table), reverse=True)
    by_name = {r["name"]: r for r in table}
    assert (by_name["small"]["preset"], by_name["small"]["public"]) == ("quick", public)
    assert (by_name["wide"]["preset"], by_name["wide"]["public"]) == ("mlp", "")
    lines = run("runs").stdout.splitlines()
    assert lines[0].split() == ["#", "run", "nets", "preset", "changed", "settings", "estimate", "(95%,", "rows)",
                                "k-fold", "seconds", "public"]
    rows = {line.split()[1]: line.split() for line in lines[2:]}
    assert rows["small"][-1] == public and rows["wide"][-1] == "-"
    assert rows["small"][2:6] == ["1", "quick", "epochs", "1,"]


def test_submit_without_wait_is_pending_until_submissions_fetches_the_score(downloaded, cwd, fake_kaggle):
    train("--preset", "quick", "--name", "r")
    assert run("submit", "-f", "runs/r/submission.csv", "-m", "later").exit_code == 0
    assert run("runs").stdout.splitlines()[2].split()[-1] == "pending"
    fake_kaggle.submissions[0].update(status="COMPLETE", publicScore="0.60000")  # Kaggle scores it meanwhile
    result = run("submissions")
    assert result.exit_code == 0, result.output
    scored = runs.read_record(cwd / "runs" / "r")["submissions"][0]
    assert (scored["status"], scored["public"]) == ("complete", "0.60000")
    assert run("runs").stdout.splitlines()[2].split()[-1] == "0.60000"
    assert "| complete | 0.60000 | - |" in (cwd / "runs" / "r" / "report.md").read_text()


def test_a_file_outside_a_run_is_not_recorded(downloaded, cwd, fake_kaggle):
    train("--preset", "quick", "--name", "r")
    (cwd / "elsewhere.csv").write_bytes((cwd / "runs" / "r" / "submission.csv").read_bytes())
    assert run("submit", "-f", "elsewhere.csv", "-m", "m").exit_code == 0
    assert runs.read_record(cwd / "runs" / "r")["submissions"] == []


def test_ranked_by_validation_accuracy(cwd, sample_competition):
    for name, epochs in (("short", "1"), ("long", "3")):
        result = run("train", "--preset", "quick", "--epochs", epochs, "--batch-size", "512", "--name", name,
                     "-p", sample_competition, "-q")
        assert result.exit_code == 0, result.output
    table = json.loads(run("runs", "--json").stdout)
    assert [r["name"] for r in table] == ["long", "short"]
    assert table[0]["val_accuracy"] > table[1]["val_accuracy"]
    assert table[0]["changed"] == {"epochs": 3, "batch_size": 512}


def test_no_runs_yet(cwd):
    assert run("runs").stdout == "No finished runs in runs/ yet: train one with `kagglekit run`.\n"


def test_an_unreadable_run_is_named_and_skipped(cwd, sample_competition):
    assert run("train", "--preset", "quick", "--epochs", "1", "--name", "ok", "-p", sample_competition,
               "-q").exit_code == 0
    broken = cwd / "runs" / "broken"
    broken.mkdir()
    (broken / "model.npz").write_bytes((cwd / "runs" / "ok" / "model.npz").read_bytes())
    (broken / "metrics.json").write_text("{}")
    result = run("runs")
    assert result.stderr == ("Skipped runs/broken: its config.json or metrics.json is damaged; train it again or "
                             "remove the folder\n")
    assert [line.split()[1] for line in result.stdout.splitlines()[2:]] == ["ok"]


def test_record_scores_matches_by_ref(tmp_path):
    folder = tmp_path / "a"
    folder.mkdir()
    (folder / "metrics.json").write_text("{}")
    (folder / "model.npz").write_bytes(b"")
    runs.record_submission(folder, 7, "m", "digit-recognizer", folder / "submission.csv")
    other = Submission(8, "x.csv", None, "", "complete", "0.5", "", "")
    assert runs.record_scores([other], tmp_path) == []
    mine = Submission(7, "submission.csv", None, "m", "complete", "0.9", "0.8", "")
    assert runs.record_scores([mine, other], tmp_path) == [folder]
    assert runs.best_public(runs.read_record(folder)) == "0.9"
    assert runs.record_scores([mine], tmp_path) == []  # nothing new
