"""The Kaggle steps the CLI names: install the competition files, send a checked submission and wait for
its score, push a kernel and fetch its output. Warnings and progress go to the callbacks given, results
come back as values, and failures raise KagglekitError subclasses."""
import json
from dataclasses import dataclass, replace
from pathlib import Path

from . import archive, kaggle_api
from . import kernel as script
from .data import COMPETITION
from .errors import Interrupted, KaggleError, KernelError, SubmissionError
from .submission import check_submission

DATA = Path("data")


def _ignore(*args):
    pass


def warn_about_credentials(on_note):
    for warning in kaggle_api.credential_warnings():
        on_note(warning)


def install(competition=COMPETITION, path=DATA, force=False, zip_file=None, quiet=False, on_note=_ignore):
    """Put the checked competition files into path/competition/, unpacked from zip_file or else from a
    fresh download (deleted once unpacked or found bad, so a bad zip is never reused); the given zip
    stays. Returns (folder, False when it already held the files and not force, else True)."""
    path = Path(path)
    target = path / competition
    downloaded = zip_file is None
    if not force:
        problem = archive.installed_problem(target)
        if not problem:
            return target, False
        if target.exists():
            on_note(f"{problem}: {'downloading' if downloaded else 'unpacking'} the competition files again")
    try:
        if downloaded:
            warn_about_credentials(on_note)
            if not quiet:
                on_note(f"Downloading {competition} from Kaggle into {path}/")
            zip_file = kaggle_api.download_competition(competition, path, force=force, quiet=quiet)
        try:
            archive.install_competition(zip_file, target, force=True)
        finally:
            if downloaded and zip_file is not None:
                zip_file.unlink(missing_ok=True)
    except KeyboardInterrupt:
        raise Interrupted(f"{target} was left as it was") from None
    return target, True


@dataclass(frozen=True)
class Sent:
    """A submission Kaggle accepted: its ref, the submissions left today and, once scored, its public score."""
    file: Path
    rows: int
    competition: str
    ref: int | None
    remaining: int | None
    public: str | None = None


def send_submission(file, message, competition=COMPETITION, wait=False, sample=None, source=None,
                    on_note=_ignore, on_sent=_ignore, on_poll=_ignore):
    """Check a submission CSV against `sample` (default: data/<competition>/sample_submission.csv if there,
    else ids 1..28000), upload it and pass the Sent to on_sent; with wait, call on_poll() until Kaggle
    has scored it. Returns the Sent, with the public score when waited for. `source` names whose
    output the file is in a validation error. A check's note (e.g. columns in another order) goes to
    on_note; a score that cannot be fetched after the upload raises ScoreUnavailable."""
    if not message.strip():
        raise SubmissionError("a submission needs a message saying what it is; pass -m MESSAGE")
    if sample is None:
        sample = DATA / competition / "sample_submission.csv"  # else: the real test set's 28,000 ids
        sample = sample if sample.is_file() else None
    try:
        checked = check_submission(file, sample)
    except SubmissionError as e:
        if source is None:
            raise
        raise SubmissionError(f"not submitted: {source} is invalid: {e}") from None
    if checked.note:
        on_note(f"Note: {checked.note}")
    warn_about_credentials(on_note)
    ref, remaining = kaggle_api.submit(file, message, competition)
    sent = Sent(Path(file), checked.rows, competition, ref, remaining)
    on_sent(sent)
    if not wait:
        return sent
    if ref is None:
        raise KaggleError("Kaggle returned no submission ref to wait for: see `kagglekit submissions`.")
    try:
        scored = kaggle_api.wait_for_score(ref, on_poll=lambda _: on_poll())
    except KeyboardInterrupt:
        raise Interrupted(f"submission ref {ref} was made and Kaggle scores it anyway; follow it with "
                          f"`kagglekit submissions`") from None
    return replace(sent, public=scored.public)


def check_credentials(on_note=_ignore):
    """Raise the KaggleError `submit` would give when no credentials can be found; before a long job
    that ends with an upload, so it fails in the first second rather than after training."""
    warn_about_credentials(on_note)
    kaggle_api.credential_source()


def list_submissions(competition=COMPETITION, on_note=_ignore):
    """Your submissions to the competition, newest first (kaggle_api.Submission)."""
    warn_about_credentials(on_note)
    return kaggle_api.list_submissions(competition)


def kernel_id_for_build(folder, given=None):
    """`given`, else your Kaggle username with the folder's slug (or the default), else the folder's id."""
    if given:
        return given
    try:
        current = json.loads((Path(folder) / script.METADATA_FILE).read_text())["id"]
    except (OSError, ValueError, TypeError, KeyError):
        current = None
    try:
        return f"{kaggle_api.username()}/{current.split('/')[-1] if current else script.DEFAULT_SLUG}"
    except KaggleError:  # no credentials here: keep the id the folder already has
        if current:
            return current
    raise KernelError("no Kaggle username known; pass --id USER/slug or add kaggle.json")


def push_kernel(folder, on_note=_ignore):
    """Check the folder's kernel-metadata.json, then upload the kernel; returns (kernel id, url, version)."""
    kernel_id = script.check_metadata(folder)["id"]
    warn_about_credentials(on_note)
    return (kernel_id, *kaggle_api.push_kernel(folder))


def kernel_state(folder, on_note=_ignore):
    """(kernel id, state) of the kernel's latest run; KernelError when it failed or was cancelled."""
    kernel_id = script.check_metadata(folder)["id"]
    warn_about_credentials(on_note)
    state, message = kaggle_api.kernel_status(kernel_id)
    if state == "error":
        raise KernelError(f"kernel {kernel_id} failed on Kaggle: {message or 'no message given'}; read its log "
                          f"(`kagglekit kernel output`), fix the cause and push again")
    if state.startswith("cancel"):
        raise KernelError(f"kernel {kernel_id} was cancelled ({state}); push it again to rerun it")
    return kernel_id, state


def fetch_kernel_output(kernel_id, dest, on_note=_ignore):
    """Fetch the output of the kernel's latest run (default kernel: the one in the default folder) into
    dest, noting each file; returns (kernel id, path of its submission.csv), KernelError if it made none."""
    kernel_id = kernel_id or script.check_metadata(script.DEFAULT_FOLDER)["id"]
    warn_about_credentials(on_note)
    paths = kaggle_api.kernel_output(kernel_id, dest)
    for path in paths:
        on_note(f"Fetched {path}")
    if Path(dest) / "submission.csv" not in paths:
        got = ", ".join(p.name for p in paths) or "nothing"
        raise KernelError(f"kernel {kernel_id} has no submission.csv in its output (got {got}); check "
                          f"`kagglekit kernel status` and its log, fix the run and push again")
    return kernel_id, Path(dest) / "submission.csv"
