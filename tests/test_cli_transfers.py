"""Downloads and uploads show the kaggle client's progress bar (bytes, speed) on stderr, unless -q; an
upload (a second at most) draws none into a log file."""
import re

from cli_helpers import run
from kagglekit.cli import progress

BAR_END = re.compile(r"100%\|█+\| (\S+)/(\S+) \[[\d:]+<[\d:]+, +[\d.]+[kMG]?B/s\]")


def test_download_shows_bytes_and_speed(fake_kaggle, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("download")
    assert result.exit_code == 0, result.output
    done = BAR_END.search(result.stderr)
    assert done and done.group(1) == done.group(2) == "41.7k"


def test_upload_shows_bytes_and_speed_on_a_terminal_unless_quiet(fake_kaggle, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("download", "-q").exit_code == 0  # the ids a submission is checked against
    (tmp_path / "s.csv").write_text(fake_kaggle.submission_csv())
    assert run("submit", "-f", "s.csv", "-m", "m").stderr == ""  # not a terminal
    monkeypatch.setattr(progress, "is_terminal", lambda stream: True)
    result = run("submit", "-f", "s.csv", "-m", "m")
    assert result.exit_code == 0, result.output
    done = BAR_END.search(result.stderr)
    assert done and done.group(1) == f"{(tmp_path / 's.csv').stat().st_size:.1f}"
    quiet = run("submit", "-f", "s.csv", "-m", "m", "-q")
    assert quiet.exit_code == 0 and quiet.stderr == ""
