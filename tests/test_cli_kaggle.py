"""kagglekit download / submit / submissions through the CLI, the real kaggle client and the fake server.
Every error must be one "Error: ..." line with exit code 1, no traceback and no credentials."""
import os
import stat

import pytest

from cli_helpers import error_line, run
from fake_kaggle import TOKEN, make_competition_zip

DATA = os.path.join("data", "digit-recognizer")


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def downloaded(fake_kaggle, cwd):
    assert run("download", "-q").exit_code == 0
    fake_kaggle.calls.clear()
    return cwd / DATA


@pytest.fixture
def good_csv(fake_kaggle, downloaded):
    path = downloaded.parent.parent / "submission.csv"
    path.write_text(fake_kaggle.submission_csv(correct=3))
    return path


# --- download ------------------------------------------------------------------------------------
def test_download_unpacks_and_checks(fake_kaggle, cwd):
    result = run("download")
    assert result.exit_code == 0, result.output
    assert f"Competition files ready in {DATA}" in result.stdout
    assert "100%" in result.stderr  # the client's progress bar
    assert sorted(os.listdir(DATA)) == [".kagglekit-unpacked.json", ".test.csv.kkcache.npz", ".train.csv.kkcache.npz",
                                        "sample_submission.csv", "test.csv", "train.csv"]  # rows read, parse cached
    assert os.listdir("data") == ["digit-recognizer"]  # zip removed, no temporary folders
    for folder in ("data", DATA):  # the user's normal permissions, not a temporary folder's 0700
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o777 & ~_umask()


def test_download_skips_present_data_without_asking_kaggle(downloaded, fake_kaggle):
    result = run("download")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{DATA} already holds the competition files, checked (use --force to replace them).\n"
    assert fake_kaggle.calls == []


def test_download_replaces_a_train_csv_cut_short(downloaded, fake_kaggle):
    train = downloaded / "train.csv"
    whole = train.read_bytes()
    train.write_bytes(b"\n".join(whole.split(b"\n")[:4]) + b"\n")  # cut at a line: headers and rows still parse
    cut = train.stat().st_size
    result = run("download", "-q")
    assert result.exit_code == 0, result.output
    assert result.stderr == (f"{DATA}/train.csv is {cut:,} bytes but {len(whole):,} were unpacked (cut short or "
                             f"changed): downloading the competition files again\n")
    assert result.stdout == f"Competition files ready in {DATA}\n"
    assert train.read_bytes() == whole


def test_download_from_a_zip_of_another_competition_names_the_one_supported(fake_kaggle, cwd):
    import zipfile
    with zipfile.ZipFile(cwd / "titanic.zip", "w") as zf:
        for name in ("train.csv", "test.csv", "gender_submission.csv"):
            zf.writestr(name, "PassengerId,Survived\n1,0\n")
    line = error_line(run("download", "-c", "titanic", "--from-file", "titanic.zip"))
    assert line == ("Error: kagglekit supports Digit Recognizer ('digit-recognizer'); titanic.zip's files "
                    "(gender_submission.csv, test.csv, train.csv) are not its files: use 'digit-recognizer'.")
    assert fake_kaggle.calls == [] and not (cwd / "data" / "titanic").exists()


def test_download_force_fetches_again(downloaded, fake_kaggle):
    fake_kaggle.zip_bytes = make_competition_zip(n_test=7)[0]
    assert run("download", "-o", "-q").exit_code == 0
    assert [name for name, _ in fake_kaggle.calls] == ["DownloadDataFiles", "zip"]
    assert len((downloaded / "test.csv").read_text().splitlines()) == 8


def test_download_quiet_has_no_progress_bar(fake_kaggle, cwd):
    assert run("download", "-q").stderr == ""


def test_download_from_file_needs_no_kaggle(fake_kaggle, cwd):
    (cwd / "browser.zip").write_bytes(make_competition_zip()[0])
    result = run("download", "--from-file", "browser.zip", "-p", "elsewhere")
    assert result.exit_code == 0, result.output
    assert (cwd / "elsewhere" / "digit-recognizer" / "train.csv").is_file()
    assert (cwd / "browser.zip").is_file()  # the user's own file stays
    assert fake_kaggle.calls == []


def test_download_from_file_refuses_zip_slip(fake_kaggle, cwd):
    (cwd / "evil.zip").write_bytes(make_competition_zip(members={"../../evil.py": b"x"})[0])
    line = error_line(run("download", "--from-file", "evil.zip"))
    assert "evil.zip holds '../../evil.py', a '..' that leads outside the folder: refusing to unpack it" in line
    assert os.listdir("data") == [] and not (cwd.parent / "evil.py").exists()


def test_corrupt_download_leaves_nothing_behind(fake_kaggle, cwd):
    fake_kaggle.zip_bytes = make_competition_zip()[0][:3000]  # truncated on Kaggle's side
    line = error_line(run("download", "-q"))
    assert "digit-recognizer.zip is corrupt or truncated" in line and "kagglekit download --force" in line
    assert os.listdir("data") == []  # no zip to be skipped as "fresh" next time, no half folder


def test_corrupt_download_keeps_the_old_data(downloaded, fake_kaggle):
    before = (downloaded / "train.csv").read_bytes()
    fake_kaggle.zip_bytes = b"<html>Service Unavailable</html>"
    assert "is corrupt or truncated" in error_line(run("download", "--force", "-q"))
    assert (downloaded / "train.csv").read_bytes() == before


def test_download_help_has_an_example():
    assert "Example: kagglekit download" in run("download", "--help").output


# --- submit --------------------------------------------------------------------------------------
def test_submit_prints_ref_and_remaining(good_csv, fake_kaggle):
    result = run("submit", "-f", "submission.csv", "-m", "mlp, 20 epochs")
    assert result.exit_code == 0, result.output
    assert "Submitted submission.csv (5 rows) to digit-recognizer: ref 1000" in result.stdout
    assert "4 submissions remaining today." in result.stdout
    assert fake_kaggle.uploads == [good_csv.read_bytes()]
    assert fake_kaggle.submissions[0]["description"] == "mlp, 20 epochs"


def test_submit_wait_shows_the_public_score(good_csv, fake_kaggle):
    fake_kaggle.pending_polls = 3
    result = run("submit", "-f", "submission.csv", "-m", "m", "--wait")
    assert result.exit_code == 0, result.output
    assert "Public score: 1.00000" in result.stdout  # ids 1-3 are public and all right
    assert "Waiting for the score..." in result.stderr  # a dot per poll


def test_submit_wait_shows_kaggles_error_description(good_csv, fake_kaggle):
    fake_kaggle.solution[6] = 4  # Kaggle's test set has a row our sample lacks
    line = error_line(run("submit", "-f", "submission.csv", "-m", "m", "--wait"))
    assert line == ("Error: Kaggle could not score submission 1000: Submission must have 6 rows with ImageId "
                    "1..6; found 5. (fix the file and submit again).")


def test_submit_wait_when_the_score_cannot_be_fetched_warns_and_exits_0(good_csv, fake_kaggle):
    fake_kaggle.fail("GetSubmission", 503, times=4)  # the upload worked; asking for its score does not
    result = run("submit", "-f", "submission.csv", "-m", "m", "--wait")
    assert result.exit_code == 0, result.output
    assert "Submitted submission.csv (5 rows) to digit-recognizer: ref 1000" in result.stdout
    assert result.stderr.splitlines()[-1] == ("Warning: Submitted as ref 1000, but Kaggle's score could not be "
                                              "fetched (HTTP 503); follow it with `kagglekit submissions`.")
    assert "Error" not in result.output and len(fake_kaggle.uploads) == 1


def test_each_retry_says_so_on_stderr(fake_kaggle, cwd):
    fake_kaggle.fail("ListSubmissions", 503, times=2)
    result = run("submissions")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == ["Kaggle answered HTTP 503; retrying in 0.01 s (2/4)",
                                          "Kaggle answered HTTP 503; retrying in 0.01 s (3/4)"]
    assert result.stdout == "No submissions to digit-recognizer yet.\n"
    assert run("submissions").stderr == ""  # no retry, no line


@pytest.mark.parametrize("rpc, args", [
    ("DownloadDataFiles", ("download", "--force", "-q")),
    ("CreateSubmission", ("submit", "-f", "submission.csv", "-m", "m")),
    ("GetSubmission", ("submit", "-f", "submission.csv", "-m", "m", "--wait")),
])
def test_download_and_submit_say_each_retry_too(good_csv, fake_kaggle, rpc, args):
    fake_kaggle.fail(rpc, 429)
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "Kaggle answered HTTP 429; retrying in 0.01 s (2/4)" in result.stderr.splitlines()


def test_submit_notes_columns_in_the_other_order(good_csv, fake_kaggle):
    lines = good_csv.read_text().splitlines()
    good_csv.write_text("\n".join(",".join(reversed(line.split(","))) for line in lines) + "\n")
    result = run("submit", "-f", "submission.csv", "-m", "m")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == ["Note: submission.csv: columns are in the order Label,ImageId; Kaggle "
                                          "matches them by name, so this is fine"]
    assert fake_kaggle.uploads == [good_csv.read_bytes()]


def test_invalid_file_is_refused_before_any_upload(downloaded, fake_kaggle, cwd):
    (cwd / "bad.csv").write_text("ImageId,Label\n1,3\n2,11\n")
    line = error_line(run("submit", "-f", "bad.csv", "-m", "m"))
    assert "bad.csv" in line and "Label" in line
    assert fake_kaggle.calls == [] and fake_kaggle.uploads == []


def test_submit_needs_a_message(good_csv, fake_kaggle):
    result = run("submit", "-f", "submission.csv", "-m", "  ")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == "Error: Invalid value for '-m' / '--message': must say what this submission is"
    assert fake_kaggle.calls == []


def test_upload_refused(good_csv, fake_kaggle):
    fake_kaggle.fail("upload", 403)
    line = error_line(run("submit", "-f", "submission.csv", "-m", "m"))
    assert line == ("Error: Kaggle refused the upload of submission.csv (\"Could not submit to competition\"): "
                    "nothing was submitted; try again in a few minutes.")
    assert fake_kaggle.called("CreateSubmission") == []


def test_daily_limit_is_checked_before_uploading(good_csv, fake_kaggle):
    fake_kaggle.daily_limit = 1
    fake_kaggle.add_submission("earlier today", _today())
    line = error_line(run("submit", "-f", "submission.csv", "-m", "m"))
    assert "Daily submission limit reached for 'digit-recognizer' (1 today, none left)" in line
    assert fake_kaggle.uploads == []


def test_daily_limit_reported_by_kaggle(good_csv, fake_kaggle):
    fake_kaggle.daily_limit = 0  # counts all zero: looks like "no team yet", so only Kaggle's reply tells
    line = error_line(run("submit", "-f", "submission.csv", "-m", "m"))
    assert "Daily submission limit reached for 'digit-recognizer'" in line
    assert "used its daily Submission allowance" in line and "midnight UTC" in line
    assert len(fake_kaggle.called("CreateSubmission")) == 1  # not retried


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _today():
    from datetime import datetime, timezone
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- submissions ---------------------------------------------------------------------------------
def test_submissions_table_newest_first_with_ref_file_and_kaggles_error(fake_kaggle, cwd):
    fake_kaggle.add_submission("first try", "2024-01-02T08:00:00Z", public="0.91000", private="0.90500")
    fake_kaggle.add_submission("cnn", "2024-03-04T09:30:00.5Z", public="0.99100", private="0.99000",
                               file_name="cnn.csv")
    fake_kaggle.add_submission("broken", "2024-02-03T10:00:00Z", status="ERROR", error="bad header")
    fake_kaggle.add_submission("mute", "2024-02-01T10:00:00Z", status="ERROR")
    result = run("submissions")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "ref   date (UTC)        file            description  status    public   private  error",
        "----  ----------------  --------------  -----------  --------  -------  -------  -----------------------",
        "1001  2024-03-04 09:30  cnn.csv         cnn          complete  0.99100  0.99000",
        "1002  2024-02-03 10:00  submission.csv  broken       error                       bad header",
        "1003  2024-02-01 10:00  submission.csv  mute         error                       (Kaggle gave no reason)",
        "1000  2024-01-02 08:00  submission.csv  first try    complete  0.91000  0.90500",
    ]


def test_no_submissions_yet(fake_kaggle, cwd):
    assert run("submissions").stdout == "No submissions to digit-recognizer yet.\n"


# --- every Kaggle failure: one line, exit 1 ------------------------------------------------------
def test_no_credentials(fake_kaggle, cwd):
    fake_kaggle.kaggle_json.unlink()
    line = error_line(run("submissions"))
    assert line == (f"Error: No Kaggle credentials found: create one at https://www.kaggle.com/settings/api "
                    f"(Settings → API → Create New Token), then save the downloaded kaggle.json as "
                    f"{fake_kaggle.kaggle_json} (chmod 600) or set KAGGLE_API_TOKEN to the token.")
    assert fake_kaggle.calls == []


def test_kaggle_json_readable_by_others_warns(fake_kaggle, cwd):
    fake_kaggle.kaggle_json.chmod(0o644)
    result = run("submissions")
    assert result.stdout == "No submissions to digit-recognizer yet.\n"  # the client's own nag is swallowed
    assert result.stderr == (f"Warning: {fake_kaggle.kaggle_json} is readable by other users of this computer; "
                             f"run: chmod 600 {fake_kaggle.kaggle_json}\n")


def test_bad_key(fake_kaggle, cwd):
    fake_kaggle.key = "the-key-kaggle-knows"
    line = error_line(run("submissions"))
    assert line == (f"Error: Kaggle rejected the credentials from {fake_kaggle.kaggle_json} (401): the key or "
                    f"token is wrong or expired; create one at https://www.kaggle.com/settings/api "
                    f"(Settings → API → Create New Token) and replace it.")


def test_expired_token(fake_kaggle, cwd, monkeypatch):
    fake_kaggle.kaggle_json.unlink()
    fake_kaggle.tokens = set()  # introspection answers active: false
    monkeypatch.setenv("KAGGLE_API_TOKEN", TOKEN)
    line = error_line(run("submissions"))
    assert "did not accept the credentials from KAGGLE_API_TOKEN (expired or revoked)" in line


@pytest.mark.parametrize("command", [["download", "--force"], ["submit", "-f", "submission.csv", "-m", "m"]])
def test_rules_not_accepted(good_csv, fake_kaggle, command):
    fake_kaggle.rules_accepted = False
    line = error_line(run(*command))
    assert line == ("Error: Kaggle refused access to competition 'digit-recognizer' (403): accept its rules in "
                    "your browser at https://www.kaggle.com/competitions/digit-recognizer/rules, then try again.")
    assert fake_kaggle.uploads == []


def test_403_for_another_reason_is_not_called_a_rules_problem(good_csv, fake_kaggle):
    fake_kaggle.fail("CreateSubmission", 403, message="Your account must be phone verified to submit.")
    line = error_line(run("submit", "-f", "submission.csv", "-m", "m"))
    assert line == ("Error: Kaggle refused access to competition 'digit-recognizer' (403): \"Your account must be "
                    "phone verified to submit.\"; do what it asks on kaggle.com, then try again.")


def test_unknown_competition_suggests_the_slug(fake_kaggle, cwd):
    line = error_line(run("download", "-c", "digit-recogniser"))
    assert line == ("Error: Kaggle has no competition 'digit-recogniser' (404): check the slug in its URL, "
                    "kaggle.com/competitions/<slug>; for Digit Recognizer use 'digit-recognizer'.")


def test_rate_limited(fake_kaggle, cwd):
    fake_kaggle.fail("ListSubmissions", 429, times=10)
    line = error_line(run("submissions"))
    assert line == ("Error: Kaggle is rate-limiting requests (429) and still refused after 4 tries: wait a few "
                    "minutes, then try again.")
    assert len(fake_kaggle.called("ListSubmissions")) == 4


def test_server_error_gives_up_clearly(fake_kaggle, cwd):
    fake_kaggle.fail("DownloadDataFiles", 503, times=10)
    line = error_line(run("download"))
    assert line == ("Error: Kaggle's servers failed (HTTP 503) 4 times in a row: the problem is on Kaggle's side; "
                    "try again later.")


def test_server_error_then_recovery(fake_kaggle, cwd):
    fake_kaggle.fail("DownloadDataFiles", 500, times=2)
    assert run("download", "-q").exit_code == 0
    assert os.path.isfile(os.path.join(DATA, "train.csv"))


def test_kaggle_unreachable(fake_kaggle, cwd, monkeypatch):
    fake_kaggle.go_offline(monkeypatch)
    line = error_line(run("submissions"))
    assert line == ("Error: Could not reach Kaggle (tried twice): check your internet connection and proxy "
                    "settings, then try again.")


# --- run --submit: the pipeline chained with the upload ------------------------------------------
def test_run_submit_trains_predicts_uploads_and_shows_score(downloaded, fake_kaggle):
    result = run("run", "--preset", "quick", "--epochs", "1", "--val-size", "2", "--name", "r",
                 "--submit", "-m", "first try")
    assert result.exit_code == 0, result.output
    assert "Submission ready: runs/r/submission.csv" in result.stdout
    assert "Submitted runs/r/submission.csv (5 rows) to digit-recognizer: ref 1000" in result.stdout
    assert "Public score: " in result.stdout
    assert fake_kaggle.uploads == [(downloaded.parent.parent / "runs" / "r" / "submission.csv").read_bytes()]
    assert fake_kaggle.submissions[0]["description"] == "first try"


def test_submit_run_newest_names_the_run(downloaded, fake_kaggle):
    assert run("train", "--preset", "quick", "--epochs", "1", "--val-size", "2", "--name", "bare").exit_code == 0
    line = error_line(run("submit", "--run", "newest", "-m", "m"))
    assert line == ("Error: runs/bare has no submission.csv: write it with `kagglekit predict runs/bare`, or pass "
                    "another --run")
    assert run("run", "--preset", "quick", "--epochs", "1", "--val-size", "2", "--name", "r").exit_code == 0
    result = run("submit", "--run", "newest", "-m", "m")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:2] == ["Using the newest run: runs/r",
                                              "Submitted runs/r/submission.csv (5 rows) to digit-recognizer: ref 1000"]
    result = run("submit", "-m", "m")
    assert result.exit_code == 2 and result.output.splitlines()[-1] == (
        "Error: give the submission as -f FILE or --run RUN (e.g. --run newest), not both")


def test_run_submit_checks_credentials_before_training(downloaded, fake_kaggle):
    fake_kaggle.kaggle_json.unlink()
    line = error_line(run("run", "--preset", "quick", "--submit", "-m", "x", "-p", downloaded))
    assert line == (f"Error: No Kaggle credentials found: create one at https://www.kaggle.com/settings/api "
                    f"(Settings → API → Create New Token), then save the downloaded kaggle.json as "
                    f"{fake_kaggle.kaggle_json} (chmod 600) or set KAGGLE_API_TOKEN to the token.")
    assert not (downloaded.parent.parent / "runs").exists()  # refused before a minute of training


def test_run_submit_refuses_a_model_no_better_than_chance_unless_forced(downloaded, fake_kaggle, monkeypatch):
    from kagglekit import pipeline
    warning = "validation accuracy 0.1100 is no better than chance (0.10 for 10 digits): the model learned nothing"
    monkeypatch.setattr(pipeline, "learning_warning", lambda *args: warning)
    args = ["run", "--preset", "quick", "--epochs", "1", "--val-size", "2", "--submit", "-m", "m"]
    result = run(*args, "--name", "a")
    assert error_line(result) == f"Error: not submitted: {warning}; pass --force to submit this model anyway"
    assert f"Warning: {warning}" in result.stderr.splitlines()
    assert fake_kaggle.uploads == []
    result = run(*args, "--name", "b", "--force")
    assert result.exit_code == 0, result.output
    assert len(fake_kaggle.uploads) == 1 and "Public score: " in result.stdout


def test_ctrl_c_while_waiting_for_the_score_says_the_submission_was_made(good_csv, fake_kaggle, monkeypatch):
    from kagglekit import kaggle_api

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(kaggle_api, "wait_for_score", interrupted)
    result = run("submit", "-f", "submission.csv", "-m", "m", "--wait")
    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1] == ("Interrupted: submission ref 1000 was made and Kaggle scores it "
                                              "anyway; follow it with `kagglekit submissions`")


def test_run_submit_needs_a_message_and_real_data(fake_kaggle, cwd):
    result = run("run", "--preset", "quick", "--submit")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == "Error: --submit needs -m MESSAGE, the description Kaggle shows for the submission"
    result = run("run", "--preset", "quick", "--submit", "-m", "x")  # no data: the bundled sample
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == ("Error: --submit needs the competition data: Kaggle cannot score predictions "
                                              "for the bundled sample; run `kagglekit download` first")
    assert fake_kaggle.calls == [] and not (cwd / "runs").exists()
