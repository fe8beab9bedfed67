"""Running the CLI in tests: no crash, no secret in the output, and the one `Error:` line of a failure."""
from click.testing import CliRunner

from fake_kaggle import KEY, TOKEN
from kagglekit.cli import main


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert isinstance(result.exception, (SystemExit, type(None))), repr(result.exception)  # no crash
    for secret in (KEY, TOKEN):
        assert secret not in result.output
    return result


def error_line(result):
    """The single Error: line of a failed command (exit 1, no traceback)."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    return errors[0]
