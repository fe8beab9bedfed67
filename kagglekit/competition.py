"""The Kaggle steps the CLI names: install the competition files, send a checked submission and wait for
its score, push a kernel and fetch its output. Warnings and progress go to the callbacks given (on_note
for notes, on_retry for each retry of a call to Kaggle, see kaggle_api), results come back as values, and
failures raise KagglekitError subclasses."""
import json
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from . import archive, kaggle_api
from . import kernel as script
from .data import COMPETITION
from .errors import Interrupted, KaggleError, KernelError, SubmissionError
from .files import write_text
from .submission import check_submission

DATA = Path("data")
# What `kernel push` pushed from here, {kernel id: version}: status, output and submit follow that run.
# Under runs/ (ignored by git, never rewritten by a build), so no clone inherits another user's pushes.
PUSHES = Path("runs") / "kernel-pushes.json"


def _ignore(*args):
    pass


def warn_about_credentials(on_note):
    for warning in kaggle_api.credential_warnings():
        on_note(warning)


def install(competition=COMPETITION, path=DATA, force=False, zip_file=None, quiet=False, on_note=_ignore,
            on_retry=_ignore):
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
            zip_file = kaggle_api.download_competition(competition, path, force=force, quiet=quiet,
                                                       on_retry=on_retry)
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
                    on_note=_ignore, on_sent=_ignore, on_poll=_ignore, quiet=True, on_retry=_ignore):
    """Check a submission CSV against `sample` (default: data/<competition>/sample_submission.csv if there,
    else ids 1..28000), upload it and pass the Sent to on_sent; with wait, call on_poll() until Kaggle
    has scored it. Returns the Sent, with the public score when waited for. `source` names whose
    output the file is in a validation error. A check's note (e.g. columns in another order) goes to
    on_note; a score that cannot be fetched after the upload raises ScoreUnavailable. Unless quiet, the
    upload shows the client's progress bar on stderr."""
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
    try:
        ref, remaining = kaggle_api.submit(file, message, competition, quiet, on_retry)
    except KeyboardInterrupt:
        raise Interrupted(f"the upload of {file} was cut short: Kaggle may or may not have it; check "
                          "`kagglekit submissions` before submitting it again") from None
    sent = Sent(Path(file), checked.rows, competition, ref, remaining)
    on_sent(sent)
    if not wait:
        return sent
    if ref is None:
        raise KaggleError("Kaggle returned no submission ref to wait for: see `kagglekit submissions`.")
    try:
        scored = kaggle_api.wait_for_score(ref, on_poll=lambda _: on_poll(), on_retry=on_retry)
    except KeyboardInterrupt:
        raise Interrupted(f"submission ref {ref} was made and Kaggle scores it anyway; follow it with "
                          f"`kagglekit submissions`") from None
    return replace(sent, public=scored.public)


def check_credentials(on_note=_ignore):
    """Raise the KaggleError `submit` would give when no credentials can be found; before a long job
    that ends with an upload, so it fails in the first second rather than after training."""
    warn_about_credentials(on_note)
    kaggle_api.credential_source()


def list_submissions(competition=COMPETITION, on_note=_ignore, on_retry=_ignore):
    """Your submissions to the competition, newest first (kaggle_api.Submission)."""
    warn_about_credentials(on_note)
    return kaggle_api.list_submissions(competition, on_retry)


def _own_id(folder_id, on_retry):
    """A folder's kernel id with your Kaggle username in place of the project's placeholder owner."""
    owner, _, slug = folder_id.partition("/")
    return f"{kaggle_api.username(on_retry)}/{slug}" if owner == script.PLACEHOLDER_OWNER else folder_id


def _pushes():
    """{kernel id: version} of the kernels pushed from here, the last one pushed last."""
    try:
        pushes = json.loads(PUSHES.read_text())
    except (OSError, ValueError):
        return {}
    return pushes if isinstance(pushes, dict) else {}


def push_kernel(folder, kernel_id=None, on_note=_ignore, on_retry=_ignore):
    """Check the folder's kernel-metadata.json, then upload the kernel as kernel_id (default: the folder's
    id, with your username for the placeholder owner) from a temporary copy, so the folder stays as
    built. The version Kaggle starts is recorded in PUSHES. Returns (kernel id, url, version)."""
    meta = script.check_metadata(folder)
    warn_about_credentials(on_note)
    kernel_id = kernel_id or _own_id(meta["id"], on_retry)
    with tempfile.TemporaryDirectory() as tmp:
        url, version = kaggle_api.push_kernel(script.stage_for_push(folder, meta, kernel_id, tmp), on_retry)
    pushes = {k: v for k, v in _pushes().items() if k != kernel_id}
    PUSHES.parent.mkdir(parents=True, exist_ok=True)
    write_text(PUSHES, json.dumps({**pushes, kernel_id: version}, indent=2) + "\n")
    return kernel_id, url, version


def pushed_run(kernel_id=None, on_note=_ignore, on_retry=_ignore):
    """(kernel id, version) that status, output and submit are about: kernel_id (default: the last one
    pushed from here, else the default folder's) at the version pushed from here; with no version
    recorded, (kernel id, None), its latest run, said in a note."""
    pushes, folder = _pushes(), script.DEFAULT_FOLDER
    if not kernel_id and not pushes and not (folder / script.METADATA_FILE).exists():
        raise KernelError(f"no kernel was pushed from here ({PUSHES}) and {folder} holds none: run it where you "
                          f"pushed from, or pass --id USER/SLUG")
    if not kernel_id:
        kernel_id = list(pushes)[-1] if pushes else _own_id(script.check_metadata(folder)["id"], on_retry)
    if script.id_problem(kernel_id):  # the slug names the log file written into the output folder
        raise KernelError(f"{script.id_problem(kernel_id)}; pass --id USER/SLUG")
    version = pushes.get(kernel_id)
    if not isinstance(version, int):
        on_note(f"Note: no push of {kernel_id} recorded in {PUSHES}; using its latest run on Kaggle")
        return kernel_id, None
    return kernel_id, version


def kernel_run(kernel_id, version):
    """How a kernel's run is named in messages: "owner/slug version N", or "owner/slug"."""
    return kernel_id if version is None else f"{kernel_id} version {version}"


def kernel_state(kernel_id=None, on_note=_ignore, on_retry=_ignore):
    """(kernel id, version, state) of the pushed run (pushed_run); KernelError when it failed or was
    cancelled."""
    warn_about_credentials(on_note)
    kernel_id, version = pushed_run(kernel_id, on_note, on_retry)
    state, message = kaggle_api.kernel_status(kernel_id, version, on_retry)
    run = kernel_run(kernel_id, version)
    if state == "error":
        raise KernelError(f"kernel {run} failed on Kaggle: {message or 'no message given'}; read its log "
                          f"(`kagglekit kernel output`), fix the cause and push again")
    if state.startswith("cancel"):
        raise KernelError(f"kernel {run} was cancelled ({state}); push it again to rerun it")
    return kernel_id, version, state


def fetch_kernel_output(kernel_id, dest, complete=False, on_note=_ignore, on_retry=_ignore):
    """Fetch the output of the pushed run (pushed_run) into dest, noting each file; with complete, only
    once that run is complete (KernelError otherwise: its output would be stale). Returns (kernel id,
    version, path of its submission.csv); KernelError if it made none."""
    warn_about_credentials(on_note)
    kernel_id, version = pushed_run(kernel_id, on_note, on_retry)
    fetch = kaggle_api.completed_output if complete else kaggle_api.kernel_output
    paths = fetch(kernel_id, dest, version, on_retry)
    for path in paths:
        on_note(f"Fetched {path}")
    if Path(dest) / "submission.csv" not in paths:
        got = ", ".join(p.name for p in paths) or "nothing"
        raise KernelError(f"kernel {kernel_run(kernel_id, version)} has no submission.csv in its output (got "
                          f"{got}); check `kagglekit kernel status` and its log, fix the run and push again")
    return kernel_id, version, Path(dest) / "submission.csv"
