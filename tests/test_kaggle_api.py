"""kaggle_api and archive at library level, through the real `kaggle` client against the fake server."""
import io
import json
import os
import zipfile

import pytest

from fake_kaggle import KEY, TOKEN, make_competition_zip
from kagglekit import archive, kaggle_api
from kagglekit.errors import DataError, KaggleError, KernelError, ScoreUnavailable, SubmissionError


def kernel_folder(tmp_path, **overrides):
    """A kernel folder as `kagglekit kernel build` writes it."""
    folder = tmp_path / "kernel"
    folder.mkdir()
    (folder / "digit-recognizer.py").write_text("print('training')\n")
    metadata = {"id": "fakeuser/digit-recognizer-mlp", "title": "Digit Recognizer MLP",
                "code_file": "digit-recognizer.py", "language": "python", "kernel_type": "script",
                "is_private": True, "enable_gpu": False, "enable_tpu": False, "enable_internet": False,
                "competition_sources": ["digit-recognizer"], **overrides}
    (folder / "kernel-metadata.json").write_text(json.dumps(metadata))
    return folder


def leftovers(folder):
    """Hidden temporary folders an interrupted unpack or fetch would leave behind."""
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


# --- credentials ---------------------------------------------------------------------------------
def test_no_credentials_says_where_to_put_them(fake_kaggle):
    fake_kaggle.kaggle_json.unlink()
    with pytest.raises(KaggleError) as e:
        kaggle_api.username()
    assert "No Kaggle credentials found" in str(e.value)
    assert str(fake_kaggle.kaggle_json) in str(e.value) and "KAGGLE_API_TOKEN" in str(e.value)
    assert fake_kaggle.calls == []


def test_username_from_kaggle_json(fake_kaggle):
    assert kaggle_api.username() == "fakeuser"
    assert kaggle_api.credential_source() == str(fake_kaggle.kaggle_json)


def test_username_and_key_from_the_environment(fake_kaggle, monkeypatch):
    fake_kaggle.kaggle_json.unlink()
    monkeypatch.setenv("KAGGLE_USERNAME", "fakeuser")
    monkeypatch.setenv("KAGGLE_KEY", KEY)
    assert kaggle_api.credential_source() == "KAGGLE_USERNAME/KAGGLE_KEY"
    assert kaggle_api.list_submissions("digit-recognizer") == []


def test_token_wins_and_is_introspected(fake_kaggle, monkeypatch):
    fake_kaggle.kaggle_json.unlink()
    monkeypatch.setenv("KAGGLE_API_TOKEN", TOKEN)
    assert kaggle_api.username() == "fakeuser"
    assert fake_kaggle.called("IntrospectToken") == [{"token": TOKEN}]


def test_token_file_in_home(fake_kaggle):
    fake_kaggle.kaggle_json.unlink()
    (fake_kaggle.home / ".kaggle").mkdir()
    (fake_kaggle.home / ".kaggle" / "access_token").write_text(TOKEN + "\n")
    assert kaggle_api.username() == "fakeuser"


def test_readable_kaggle_json_is_a_warning(fake_kaggle):
    assert kaggle_api.credential_warnings() == []
    fake_kaggle.kaggle_json.chmod(0o644)
    [warning] = kaggle_api.credential_warnings()
    assert f"chmod 600 {fake_kaggle.kaggle_json}" in warning


def test_broken_kaggle_json(fake_kaggle):
    fake_kaggle.kaggle_json.write_text("{not json")
    with pytest.raises(KaggleError, match="is not a readable kaggle.json"):
        kaggle_api.username()


# --- download and unpack -------------------------------------------------------------------------
def test_download_returns_the_zip(fake_kaggle, tmp_path):
    zip_path = kaggle_api.download_competition("digit-recognizer", tmp_path / "data")
    assert zip_path == tmp_path / "data" / "digit-recognizer.zip"
    assert zip_path.read_bytes() == fake_kaggle.zip_bytes
    assert [name for name, _ in fake_kaggle.calls] == ["DownloadDataFiles", "zip"]


def test_short_download_is_reported(fake_kaggle, tmp_path):
    fake_kaggle.zip_bytes = b""  # Content-Length 0: nothing to check against, zip is empty
    zip_path = kaggle_api.download_competition("digit-recognizer", tmp_path)
    with pytest.raises(DataError, match="corrupt or truncated"):
        archive.install_competition(zip_path, tmp_path / "digit-recognizer")


def test_install_unpacks_and_checks(tmp_path):
    zip_path = tmp_path / "c.zip"
    zip_path.write_bytes(make_competition_zip()[0])
    target = archive.install_competition(zip_path, tmp_path / "data" / "digit-recognizer")
    assert sorted(p.name for p in target.iterdir()) == [".kagglekit-unpacked.json", ".test.csv.kkcache.npz", ".train.csv.kkcache.npz",
                                                        "sample_submission.csv", "test.csv", "train.csv"]  # rows read, parse cached
    assert leftovers(tmp_path / "data") == []


def test_install_skips_valid_data_unless_forced(tmp_path):
    zip_path = tmp_path / "c.zip"
    zip_path.write_bytes(make_competition_zip(n_test=5)[0])
    target = archive.install_competition(zip_path, tmp_path / "dr")
    zip_path.write_bytes(make_competition_zip(n_test=7)[0])
    archive.install_competition(zip_path, target)
    assert len((target / "test.csv").read_text().splitlines()) == 6  # untouched
    archive.install_competition(zip_path, target, force=True)
    assert len((target / "test.csv").read_text().splitlines()) == 8


def test_install_accepts_one_wrapping_folder(tmp_path):
    good = zipfile.ZipFile(io.BytesIO(make_competition_zip()[0]))
    zip_path = tmp_path / "wrapped.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        for name in good.namelist():
            zf.writestr("digit-recognizer/" + name, good.read(name))
    target = archive.install_competition(zip_path, tmp_path / "dr")
    assert (target / "train.csv").is_file()


@pytest.mark.parametrize("evil", ["../evil.csv", "/tmp/evil.csv", "sub/../../evil.csv", "C:/evil.csv"])
def test_zip_slip_is_refused_before_anything_is_written(tmp_path, evil):
    zip_path = tmp_path / "evil.zip"
    zip_path.write_bytes(make_competition_zip(members={evil: b"pwned"})[0])
    with pytest.raises(DataError, match="refusing to unpack"):
        archive.install_competition(zip_path, tmp_path / "data" / "digit-recognizer")
    assert list((tmp_path / "data").iterdir()) == []
    assert not (tmp_path / "evil.csv").exists()


def test_crc_error_keeps_the_old_data(tmp_path):
    zip_bytes = make_competition_zip()[0]
    zip_path = tmp_path / "c.zip"
    zip_path.write_bytes(zip_bytes)
    target = archive.install_competition(zip_path, tmp_path / "dr")
    before = (target / "train.csv").read_bytes()
    corrupt = bytearray(zip_bytes)
    corrupt[len(corrupt) // 3] ^= 0xFF  # inside train.csv's stored bytes
    zip_path.write_bytes(bytes(corrupt))
    with pytest.raises(DataError, match="corrupt or truncated"):
        archive.install_competition(zip_path, target, force=True)
    assert (target / "train.csv").read_bytes() == before
    assert leftovers(tmp_path) == []


def test_truncated_zip_is_refused(tmp_path):
    zip_path = tmp_path / "c.zip"
    zip_path.write_bytes(make_competition_zip()[0][:5000])
    with pytest.raises(DataError, match="corrupt or truncated"):
        archive.install_competition(zip_path, tmp_path / "dr")
    assert not (tmp_path / "dr").exists()


def test_zip_without_the_competition_files(tmp_path):
    zip_path = tmp_path / "other.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr("train.csv", "a,b\n1,2\n")
    with pytest.raises(DataError, match=r"^kagglekit supports Digit Recognizer \('digit-recognizer'\); other.zip's files \(train.csv\) are not its files"):
        archive.install_competition(zip_path, tmp_path / "dr")


def test_zip_with_wrong_headers(tmp_path):
    zip_path = tmp_path / "c.zip"
    zip_path.write_bytes(make_competition_zip(members={"test.csv": b"a,b\n1,2\n"})[0])
    with pytest.raises(DataError, match="does not hold valid competition files"):
        archive.install_competition(zip_path, tmp_path / "dr")
    assert not (tmp_path / "dr").exists() and leftovers(tmp_path) == []


# --- submissions ---------------------------------------------------------------------------------
def test_submit_and_wait_for_the_score(fake_kaggle, tmp_path):
    path = tmp_path / "submission.csv"
    path.write_text(fake_kaggle.submission_csv(correct=2))
    polls = []
    ref, remaining = kaggle_api.submit(path, "two right", "digit-recognizer")
    assert (ref, remaining) == (1000, 4)
    assert fake_kaggle.uploads == [path.read_bytes()]
    result = kaggle_api.wait_for_score(ref, on_poll=polls.append)
    # 5 test rows: ids 1-3 are public, 4-5 private; ids 1-2 are right.
    assert (result.status, result.public, result.private) == ("complete", "0.66667", "0.00000")
    assert len(polls) == fake_kaggle.pending_polls
    assert kaggle_api.get_submission(ref).description == "two right"


def test_scoring_error_carries_kaggles_reason(fake_kaggle, tmp_path):
    path = tmp_path / "submission.csv"
    path.write_text("ImageId,Label\n1,3\n")
    ref, _ = kaggle_api.submit(path, "short", "digit-recognizer")
    with pytest.raises(KaggleError, match=r"could not score submission 1000: Submission must have 5 rows"):
        kaggle_api.wait_for_score(ref)


def test_wait_gives_up_after_the_timeout(fake_kaggle, tmp_path):
    fake_kaggle.pending_polls = 10 ** 6
    path = tmp_path / "submission.csv"
    path.write_text(fake_kaggle.submission_csv())
    ref, _ = kaggle_api.submit(path, "slow", "digit-recognizer")
    with pytest.raises(KaggleError, match="still not scored after 0 s"):
        kaggle_api.wait_for_score(ref, timeout=0)


def test_submit_missing_file(fake_kaggle, tmp_path):
    with pytest.raises(SubmissionError, match="does not exist"):
        kaggle_api.submit(tmp_path / "nope.csv", "m", "digit-recognizer")
    assert fake_kaggle.calls == []


def test_submissions_newest_first(fake_kaggle):
    fake_kaggle.add_submission("old", "2024-01-01T10:00:00Z", public="0.9")
    fake_kaggle.add_submission("newest", "2024-03-01T10:00:00.123Z", public="0.97")
    fake_kaggle.add_submission("middle", "2024-02-01T10:00:00Z", status="ERROR", error="bad\nfile",
                               file_name="mine.csv")
    found = kaggle_api.list_submissions("digit-recognizer")
    assert [s.description for s in found] == ["newest", "middle", "old"]
    assert (found[0].status, found[0].public, found[1].status, found[1].error) == \
        ("complete", "0.97", "error", "bad file")
    assert (found[1].ref, found[1].file_name) == (1002, "mine.csv")


def test_submission_records_the_uploaded_file_name(fake_kaggle, tmp_path):
    path = tmp_path / "kernel-output.csv"
    path.write_text(fake_kaggle.submission_csv())
    ref, _ = kaggle_api.submit(path, "m", "digit-recognizer")
    [found] = kaggle_api.list_submissions("digit-recognizer")
    assert (found.ref, found.file_name) == (ref, "kernel-output.csv")


def test_transient_5xx_is_retried(fake_kaggle):
    fake_kaggle.fail("ListSubmissions", 502, times=2)
    assert kaggle_api.list_submissions("digit-recognizer") == []
    assert len(fake_kaggle.called("ListSubmissions")) == 3


def test_persistent_5xx_gives_up_after_the_retries(fake_kaggle):
    fake_kaggle.fail("ListSubmissions", 500, times=10)
    with pytest.raises(KaggleError, match=r"servers failed \(HTTP 500\) 4 times"):
        kaggle_api.list_submissions("digit-recognizer")
    assert len(fake_kaggle.called("ListSubmissions")) == 4


def test_create_submission_is_not_retried_on_5xx(fake_kaggle, tmp_path):
    """Kaggle may have recorded it: a retry could submit twice and burn a daily slot."""
    fake_kaggle.fail("CreateSubmission", 500)
    path = tmp_path / "submission.csv"
    path.write_text(fake_kaggle.submission_csv())
    with pytest.raises(KaggleError, match="may or may not have been saved"):
        kaggle_api.submit(path, "m", "digit-recognizer")
    assert len(fake_kaggle.called("CreateSubmission")) == 1


# --- kernels -------------------------------------------------------------------------------------
def test_push_kernel_sends_every_field(fake_kaggle, tmp_path):
    folder = kernel_folder(tmp_path)
    assert kaggle_api.push_kernel(folder) == ("https://www.kaggle.com/code/fakeuser/digit-recognizer-mlp", 1)
    [pushed] = fake_kaggle.pushes
    assert pushed["text"] == "print('training')\n"
    assert (pushed["slug"], pushed["newTitle"], pushed["language"], pushed["kernelType"]) == \
        ("fakeuser/digit-recognizer-mlp", "Digit Recognizer MLP", "python", "script")
    assert (pushed["isPrivate"], pushed["enableGpu"], pushed["enableInternet"]) == (True, False, False)
    assert pushed["competitionDataSources"] == ["digit-recognizer"]
    assert kaggle_api.push_kernel(folder)[1] == 2


def test_push_error_field_is_a_failure(fake_kaggle, tmp_path):
    fake_kaggle.respond("SaveKernel", {"error": "Notebook not found"})
    with pytest.raises(KernelError, match="refused to push kernel 'fakeuser/digit-recognizer-mlp': Notebook not found"):
        kaggle_api.push_kernel(kernel_folder(tmp_path))


def test_push_with_rejected_sources_is_a_failure(fake_kaggle, tmp_path):
    fake_kaggle.respond("SaveKernel", {"ref": "/code/x", "versionNumber": 1,
                                       "invalidCompetitionSources": ["competitions/digit-recognizer"]})
    with pytest.raises(KernelError, match="competition_sources competitions/digit-recognizer"):
        kaggle_api.push_kernel(kernel_folder(tmp_path))


def test_push_checks_metadata_locally(fake_kaggle, tmp_path):
    with pytest.raises(KernelError, match="Title must be at least five characters; fix it"):
        kaggle_api.push_kernel(kernel_folder(tmp_path, title="MLP"))
    assert fake_kaggle.pushes == []


def test_push_to_someone_elses_kernel(fake_kaggle, tmp_path):
    with pytest.raises(KernelError, match=r"refused to push kernel 'someone/digit-recognizer-mlp' \(403: "):
        kaggle_api.push_kernel(kernel_folder(tmp_path, id="someone/digit-recognizer-mlp"))


def test_kernel_status_follows_the_run(fake_kaggle, tmp_path):
    kaggle_api.push_kernel(kernel_folder(tmp_path))
    fake_kaggle.kernel_statuses = ["QUEUED", "RUNNING", "COMPLETE"]
    seen = [kaggle_api.kernel_status("fakeuser/digit-recognizer-mlp") for _ in range(4)]
    assert seen == [("queued", ""), ("running", ""), ("complete", ""), ("complete", "")]
    fake_kaggle.kernel_statuses, fake_kaggle.kernel_failure = ["ERROR"], "MemoryError\n at line 3"
    assert kaggle_api.kernel_status("fakeuser/digit-recognizer-mlp") == ("error", "MemoryError at line 3")


def test_kernel_status_of_an_unknown_kernel(fake_kaggle):
    with pytest.raises(KernelError, match=r"no kernel 'fakeuser/never-pushed' you can use \(404\)"):
        kaggle_api.kernel_status("fakeuser/never-pushed")


def test_kernel_status_forbidden(fake_kaggle, tmp_path):
    kaggle_api.push_kernel(kernel_folder(tmp_path))
    fake_kaggle.fail("GetKernelSessionStatus", 403)
    with pytest.raises(KernelError, match=r"\(403\)"):
        kaggle_api.kernel_status("fakeuser/digit-recognizer-mlp")


def test_kernel_output_fetches_files_and_log(fake_kaggle, tmp_path):
    kaggle_api.push_kernel(kernel_folder(tmp_path))
    fake_kaggle.kernel_files = {"submission.csv": b"ImageId,Label\n1,7\n"}
    fake_kaggle.kernel_log = "epoch 1 loss 0.3\n"
    dest = tmp_path / "output"
    paths = kaggle_api.kernel_output("fakeuser/digit-recognizer-mlp", dest)
    assert sorted(p.name for p in paths) == ["digit-recognizer-mlp.log", "submission.csv"]
    assert (dest / "submission.csv").read_bytes() == b"ImageId,Label\n1,7\n"
    assert (dest / "digit-recognizer-mlp.log").read_text() == "epoch 1 loss 0.3\n"
    assert leftovers(dest) == []


def test_failed_output_fetch_leaves_dest_as_it_was(fake_kaggle, tmp_path):
    kaggle_api.push_kernel(kernel_folder(tmp_path))
    dest = tmp_path / "output"
    dest.mkdir()
    (dest / "submission.csv").write_text("old")
    fake_kaggle.kernel_files = {"submission.csv": b"new", "model.npz": b"x"}
    fake_kaggle.fail("output", 404)
    with pytest.raises(KaggleError, match=r"file server refused a download \(HTTP 404"):
        kaggle_api.kernel_output("fakeuser/digit-recognizer-mlp", dest)
    assert (dest / "submission.csv").read_text() == "old" and leftovers(dest) == []


def test_key_never_leaks_into_errors(fake_kaggle):
    fake_kaggle.key = "another-key"  # so ours is wrong
    with pytest.raises(KaggleError) as e:
        kaggle_api.list_submissions("digit-recognizer")
    assert "(401)" in str(e.value) and KEY not in str(e.value)


def test_kaggle_scores_columns_by_name(fake_kaggle, tmp_path):
    """What check_submission accepts, the (fake) scorer accepts: columns in another order."""
    path = tmp_path / "submission.csv"
    rows = fake_kaggle.submission_csv().splitlines()
    path.write_text("Label,ImageId\n" + "".join(",".join(reversed(r.split(","))) + "\n" for r in rows[1:]))
    ref, _ = kaggle_api.submit(path, "swapped", "digit-recognizer")
    assert kaggle_api.wait_for_score(ref).public == "1.00000"


# --- what Kaggle says ----------------------------------------------------------------------------
PHONE = "Your account must be phone verified before you can submit. Verify it at kaggle.com/settings."


def test_403_for_another_reason_shows_kaggles_message(fake_kaggle, tmp_path):
    fake_kaggle.fail("StartSubmissionUpload", 403, message=PHONE)
    path = tmp_path / "submission.csv"
    path.write_text(fake_kaggle.submission_csv())
    with pytest.raises(KaggleError) as e:
        kaggle_api.submit(path, "m", "digit-recognizer")
    assert str(e.value) == (f"Kaggle refused access to competition 'digit-recognizer' (403): \"{PHONE}\"; do what "
                            f"it asks on kaggle.com, then try again.")


@pytest.mark.parametrize("message", ["You must accept this competition's rules before you'll be able to "
                                     "download files.", ""])
def test_403_about_the_rules_or_unexplained_says_accept_the_rules(fake_kaggle, tmp_path, message):
    fake_kaggle.fail("DownloadDataFiles", 403, message=message)
    with pytest.raises(KaggleError) as e:
        kaggle_api.download_competition("digit-recognizer", tmp_path)
    assert str(e.value) == ("Kaggle refused access to competition 'digit-recognizer' (403): accept its rules in "
                            "your browser at https://www.kaggle.com/competitions/digit-recognizer/rules, then try "
                            "again.")


def test_each_retry_is_reported_through_on_retry(fake_kaggle):
    said = []
    fake_kaggle.fail("ListSubmissions", 503, times=2)
    assert kaggle_api.list_submissions("digit-recognizer", on_retry=said.append) == []
    assert said == ["Kaggle answered HTTP 503; retrying in 0.01 s (2/4)",
                    "Kaggle answered HTTP 503; retrying in 0.01 s (3/4)"]


def test_unreachable_retry_is_reported(fake_kaggle, monkeypatch):
    said = []
    fake_kaggle.go_offline(monkeypatch)
    with pytest.raises(KaggleError, match="Could not reach Kaggle"):
        kaggle_api.list_submissions("digit-recognizer", on_retry=said.append)
    assert said == ["Could not reach Kaggle; retrying in 0.01 s (2/2)"]


@pytest.mark.parametrize("status", [503, 500])
def test_score_that_cannot_be_fetched_says_it_was_submitted(fake_kaggle, tmp_path, status):
    path = tmp_path / "submission.csv"
    path.write_text(fake_kaggle.submission_csv())
    ref, _ = kaggle_api.submit(path, "m", "digit-recognizer")
    fake_kaggle.fail("GetSubmission", status, times=4)  # after CreateSubmission succeeded
    with pytest.raises(ScoreUnavailable) as e:
        kaggle_api.wait_for_score(ref)
    assert e.value.ref == 1000
    assert str(e.value) == (f"Submitted as ref 1000, but Kaggle's score could not be fetched (HTTP {status}); "
                            f"follow it with `kagglekit submissions`.")
    assert len(fake_kaggle.called("GetSubmission")) == 4


def test_score_unreachable_says_it_was_submitted(fake_kaggle, tmp_path, monkeypatch):
    path = tmp_path / "submission.csv"
    path.write_text(fake_kaggle.submission_csv())
    ref, _ = kaggle_api.submit(path, "m", "digit-recognizer")
    fake_kaggle.go_offline(monkeypatch)
    with pytest.raises(ScoreUnavailable) as e:
        kaggle_api.wait_for_score(ref)
    assert str(e.value) == ("Submitted as ref 1000, but Kaggle's score could not be fetched (Kaggle could not be "
                            "reached); follow it with `kagglekit submissions`.")


# --- kernel runs by version ----------------------------------------------------------------------
KERNEL = "fakeuser/digit-recognizer-mlp"


def test_status_and_output_of_a_given_version(fake_kaggle, tmp_path):
    folder = kernel_folder(tmp_path)
    kaggle_api.push_kernel(folder)
    assert kaggle_api.push_kernel(folder)[1] == 2
    fake_kaggle.kernel_statuses = ["RUNNING"]
    fake_kaggle.kernel_outputs = {1: {"submission.csv": b"version 1"}, 2: {"submission.csv": b"version 2"}}
    assert kaggle_api.kernel_status(KERNEL, version=1) == ("complete", "")
    assert kaggle_api.kernel_status(KERNEL, version=2) == ("running", "")
    [path] = [p for p in kaggle_api.kernel_output(KERNEL, tmp_path / "out", version=1) if p.suffix == ".csv"]
    assert path.read_bytes() == b"version 1"
    assert fake_kaggle.called("ListKernelSessionOutput")[-1]["versionLabel"] == "v1"


@pytest.mark.parametrize("statuses, message", [
    (["RUNNING"], "kernel fakeuser/digit-recognizer-mlp version 1 is running, not complete: its output would be "
                  "stale; wait until `kagglekit kernel status` says complete, then submit."),
    (["QUEUED"], "kernel fakeuser/digit-recognizer-mlp version 1 is queued, not complete: its output would be "
                 "stale; wait until `kagglekit kernel status` says complete, then submit."),
    (["ERROR"], "kernel fakeuser/digit-recognizer-mlp version 1 failed on Kaggle: MemoryError; its output is not "
                "submitted; read its log (`kagglekit kernel output`), fix the cause and push again."),
])
def test_completed_output_refuses_a_run_that_is_not_complete(fake_kaggle, tmp_path, statuses, message):
    kaggle_api.push_kernel(kernel_folder(tmp_path))
    fake_kaggle.kernel_statuses, fake_kaggle.kernel_failure = statuses, "MemoryError"
    fake_kaggle.kernel_files = {"submission.csv": b"old"}
    with pytest.raises(KernelError) as e:
        kaggle_api.completed_output(KERNEL, tmp_path / "out", version=1)
    assert str(e.value) == message
    assert fake_kaggle.called("ListKernelSessionOutput") == []


def test_completed_output_fetches_that_versions_files(fake_kaggle, tmp_path):
    kaggle_api.push_kernel(kernel_folder(tmp_path))
    fake_kaggle.kernel_files = {"submission.csv": b"ImageId,Label\n1,7\n"}
    paths = kaggle_api.completed_output(KERNEL, tmp_path / "out", version=1)
    assert tmp_path / "out" / "submission.csv" in paths
    assert fake_kaggle.called("GetKernelSessionStatus")[-1]["versionLabel"] == "v1"


def test_unknown_kernel_version(fake_kaggle, tmp_path):
    kaggle_api.push_kernel(kernel_folder(tmp_path))
    with pytest.raises(KernelError, match=r"no kernel 'fakeuser/digit-recognizer-mlp' you can use \(404\)"):
        kaggle_api.kernel_status(KERNEL, version=7)


# --- download trust ------------------------------------------------------------------------------
def test_another_competitions_files_are_refused_before_downloading(fake_kaggle, tmp_path):
    fake_kaggle.competition = "titanic"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in ("gender_submission.csv", "test.csv", "train.csv"):
            zf.writestr(name, "PassengerId\n1\n")
    fake_kaggle.zip_bytes = buf.getvalue()
    with pytest.raises(KaggleError) as e:
        kaggle_api.download_competition("titanic", tmp_path / "data")
    assert str(e.value) == ("kagglekit supports Digit Recognizer ('digit-recognizer'); titanic's files "
                            "(gender_submission.csv, test.csv, train.csv) are not its files: use 'digit-recognizer'.")
    assert fake_kaggle.called("DownloadDataFiles") == [] and not (tmp_path / "data").exists()


def test_a_copy_with_the_same_files_downloads(fake_kaggle, tmp_path):
    fake_kaggle.competition = "digit-recognizer-copy"
    zip_path = kaggle_api.download_competition("digit-recognizer-copy", tmp_path)
    assert zip_path.read_bytes() == fake_kaggle.zip_bytes


def test_folders_the_downloads_create_have_normal_permissions(fake_kaggle, tmp_path):
    umask = os.umask(0o022)
    try:
        kaggle_api.download_competition("digit-recognizer", tmp_path / "data" / "new")
        kaggle_api.push_kernel(kernel_folder(tmp_path))
        fake_kaggle.kernel_files = {"submission.csv": b"x", "logs/train.txt": b"y"}
        kaggle_api.kernel_output(KERNEL, tmp_path / "out" / "new")
    finally:
        os.umask(umask)
    for folder in ("data", "data/new", "out", "out/new", "out/new/logs"):
        assert (tmp_path / folder).stat().st_mode & 0o777 == 0o755, folder
