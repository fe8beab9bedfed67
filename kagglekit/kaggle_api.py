"""Every call kagglekit makes to Kaggle, through the official `kaggle` client (2.2.x).
This is the only module that imports `kaggle`, and only inside functions: importing it
authenticates, prints and may exit the process. Every failure becomes a one-line KaggleError
(KernelError for kernel problems) naming the fix; credentials never appear in a message.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .credentials import TOKEN_HELP, config_path, credential_source, credential_warnings  # noqa: F401 (API)
from .data import DATA_FILES, not_our_files
from .errors import KaggleError, KagglekitError, KernelError, ScoreUnavailable, SubmissionError

# Seconds before each retry after 429/5xx/unreachable; tests shrink it. Before each retry the calls
# below tell their on_retry(line), e.g. "Kaggle answered HTTP 503; retrying in 5 s (2/4)", if given.
RETRY_DELAYS = (2.0, 5.0, 15.0)
POLL_SECONDS = 5.0  # between score polls; the official client never polls faster either
WAIT_TIMEOUT = 1800.0  # stop waiting for a score after this many seconds
KNOWN_COMPETITION = "digit-recognizer"
UPLOAD_FAILED = "Could not submit to competition"  # what the client returns, rather than raising
# Calls that create something: after a 5xx Kaggle may have done it, so retrying could do it twice.
_NOT_RETRIED_ON_5XX = ("/CreateSubmission", "/SaveKernel")
_RPC_URL = re.compile(r"/v1/\w+\.\w+/\w+$")  # .../v1/<package>.<Service>/<Method>; a file URL may hold /v1/ too
_RULES_TEXT = re.compile(r"\brules?\b", re.I)
_LIMIT_TEXT = re.compile(r"daily submission|submission allowance|submission limit|daily limit", re.I)


@dataclass(frozen=True)
class Submission:
    """One competition submission as Kaggle reports it."""
    ref: int
    file_name: str  # the uploaded file's name, as Kaggle recorded it
    date: datetime | None
    description: str
    status: str  # "pending", "complete" or "error"
    public: str  # public score as Kaggle prints it, "" until scored
    private: str  # private score, "" until the competition reveals it
    error: str  # Kaggle's errorDescription when status is "error"


# --- talking to the client ---------------------------------------------------------------------
@contextlib.contextmanager
def _hushed(stderr=True):
    """Swallow the client's prints: auth help, version nags, VERBOSE dumps that show the
    Authorization header. Left with stderr=False so a download can show its progress bar."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), (contextlib.redirect_stderr(sink) if stderr else contextlib.nullcontext()):
        yield


def _client(on_retry=None):
    """A KaggleApi authenticated from the environment as it is now."""
    source = credential_source()
    with _hushed():
        try:
            from kaggle.api.kaggle_api_extended import KaggleApi
        except Exception as e:  # a missing `six`, a broken install: anything that stops the import
            raise KaggleError(f"The kaggle client cannot be loaded ({type(e).__name__}: {e}): "
                              f"pip install 'kaggle>=2.2.5,<2.3' six") from None
        api = KaggleApi()
        # The class fixes its kaggle.json path when first imported; follow today's environment.
        api.config_dir, api.config = str(config_path().parent), str(config_path())
        try:
            _call(api.authenticate, on_retry=on_retry)
        except SystemExit:  # a token the server calls inactive, and nothing to fall back on
            raise KaggleError(f"Kaggle did not accept the credentials from {source} (expired or revoked): "
                              f"{TOKEN_HELP} and replace them.") from None
    return api


def _kaggle_said(e) -> str:
    """The message in Kaggle's error body, on one line; "" when it gave none."""
    try:
        text = e.response.json().get("message") or ""
    except Exception:  # not JSON, no response
        text = ""
    return " ".join(str(text).split())[:300]


def _server_message(e) -> str:
    """Kaggle's own error text, or else the HTTP reason."""
    return _kaggle_said(e) or " ".join(str((e.response.reason if e.response is not None else "") or e).split())


def _call(fn, *args, competition=None, kernel=None, ref=None, progress=False, on_retry=None, **kwargs):
    """Run one client call, retrying 429/5xx/unreachable after RETRY_DELAYS (each retry told to
    on_retry(line) first, if given), and turn whatever goes wrong into a one-line KaggleError. The
    context names say what the call was about."""
    import requests
    delays = list(RETRY_DELAYS)
    while True:
        try:
            with _hushed(stderr=not progress):
                return fn(*args, **kwargs)
        except KagglekitError:
            raise
        except requests.HTTPError as e:
            if _retriable(e) and delays:
                _wait_to_retry(delays, f"Kaggle answered HTTP {_status_url(e)[0]}", len(RETRY_DELAYS) + 1, on_retry)
                continue
            raise _http_error(e, competition, kernel, ref) from None
        except (requests.ConnectionError, requests.Timeout):  # refused, DNS, proxy down, no answer
            # One retry rides out a blip; more would only keep an offline user waiting.
            if len(delays) == len(RETRY_DELAYS) > 0:
                _wait_to_retry(delays, "Could not reach Kaggle", 2, on_retry)
                continue
            raise KaggleError("Could not reach Kaggle (tried twice): check your internet connection and proxy "
                              "settings, then try again.") from None
        except requests.exceptions.ChunkedEncodingError:  # the connection reset mid-answer (a download cut off)
            raise KaggleError("The connection to Kaggle broke off in the middle of its answer: nothing half-received "
                              "was kept; run the command again.") from None
        except requests.RequestException as e:
            raise KaggleError(f"Kaggle's answer could not be read ({type(e).__name__}): try again later.") from None
        except ValueError as e:
            raise _value_error(e, competition, kernel, ref) from None
        except OSError as e:  # the client reading or writing local files
            raise KaggleError(f"Could not read or write {e.filename or 'a file'}: {e.strerror or e}; check the "
                              f"path, its permissions and free disk space.") from None


def _wait_to_retry(delays, what, tries, on_retry):
    """Sleep the next delay, first telling on_retry which try comes next."""
    delay = delays.pop(0)
    if on_retry is not None:
        on_retry(f"{what}; retrying in {delay:g} s ({len(RETRY_DELAYS) - len(delays) + 1}/{tries})")
    time.sleep(delay)


def _status_url(e):
    response = e.response
    return (response.status_code, response.url or "") if response is not None else (0, "")


def _retriable(e) -> bool:
    status, url = _status_url(e)
    if _LIMIT_TEXT.search(_server_message(e)):
        return False  # a daily limit will not lift in a few seconds
    return status == 429 or (status >= 500 and not url.endswith(_NOT_RETRIED_ON_5XX))


def _http_error(e, competition, kernel, ref):
    """The one-line error for an HTTP failure, by status and by what the call was about."""
    status, url = _status_url(e)
    said = _server_message(e)
    tries = len(RETRY_DELAYS) + 1
    if _LIMIT_TEXT.search(said):
        return KaggleError(f"Daily submission limit reached for '{competition}' (Kaggle: \"{said}\"): "
                           f"nothing was submitted; try again after midnight UTC.")
    if status == 401:
        return KaggleError(f"Kaggle rejected the credentials from {credential_source()} (401): the key or token "
                           f"is wrong or expired; {TOKEN_HELP} and replace it.")
    if status == 429:
        return KaggleError(f"Kaggle is rate-limiting requests (429) and still refused after {tries} tries: "
                           f"wait a few minutes, then try again.")
    if status >= 500 and url.endswith(_NOT_RETRIED_ON_5XX):
        return KaggleError(f"Kaggle failed (HTTP {status}) while saving it, so it may or may not have been "
                           f"saved: check on kaggle.com before trying again.")
    if status >= 500:
        return KaggleError(f"Kaggle's servers failed (HTTP {status}) {tries} times in a row: the problem is on "
                           f"Kaggle's side; try again later.")
    if not _RPC_URL.search(url):  # a signed file URL (zip, kernel output), not an RPC
        return KaggleError(f"Kaggle's file server refused a download (HTTP {status}: {said}): run the command "
                           f"again; the signed link may have expired.")
    if status == 403 and competition and _kaggle_said(e) and not _RULES_TEXT.search(said):
        return KaggleError(f"Kaggle refused access to competition '{competition}' (403): \"{said}\"; do what it "
                           f"asks on kaggle.com, then try again.")
    if status == 403 and competition:  # about the rules, or no reason given: the usual cause
        return KaggleError(f"Kaggle refused access to competition '{competition}' (403): accept its rules in your "
                           f"browser at https://www.kaggle.com/competitions/{competition}/rules, then try again.")
    if status == 404 and competition:
        hint = f"; for Digit Recognizer use '{KNOWN_COMPETITION}'" if competition != KNOWN_COMPETITION else ""
        return KaggleError(f"Kaggle has no competition '{competition}' (404): check the slug in its URL, "
                           f"kaggle.com/competitions/<slug>{hint}.")
    if status in (403, 404) and kernel and url.endswith("/SaveKernel"):
        return KernelError(f"Kaggle refused to push kernel '{kernel}' ({status}: {said}): you can push only as your "
                           f"own Kaggle user; leave --id out, or pass --id YOUR_USERNAME/slug.")
    if status in (403, 404) and kernel:
        return KernelError(f"Kaggle has no kernel '{kernel}' you can use ({status}): check the id (owner/slug, owner "
                           f"= your username) and push it first with `kagglekit kernel push`.")
    if status == 404 and ref is not None:
        return KaggleError(f"Kaggle has no submission {ref} (404): list yours with `kagglekit submissions`.")
    return KaggleError(f"Kaggle refused the request (HTTP {status}): {said}")


def _value_error(e, competition, kernel, ref):
    """The client raises ValueError for its own checks, for a download cut short, and in place of
    some HTTP errors (e.g. a kernel's 401/403), which keep the HTTPError as their context."""
    import requests
    if isinstance(e.__context__, requests.HTTPError):
        return _http_error(e.__context__, competition, kernel, ref)
    said = " ".join(str(e).split())
    if "does not match expected size" in said:
        return KaggleError(f"The download of '{competition}' is incomplete ({said}): run it again with --force.")
    error = KernelError if kernel else KaggleError
    return error(f"The kaggle client refused the call: {said[:300]}")


# --- competitions ------------------------------------------------------------------------------
def username(on_retry=None) -> str:
    """The Kaggle username the credentials belong to."""
    name = _client(on_retry).config_values.get("username")
    if not name:
        raise KaggleError(f"The Kaggle credentials from {credential_source()} name no username: set "
                          f"KAGGLE_USERNAME or use a kaggle.json with a \"username\".")
    return name


def _check_files(api, competition, on_retry):
    """Refuse, before a download, a competition whose files are not Digit Recognizer's: another slug
    (a copy of the competition, a community mirror) is fine only with the same file names. Their
    headers are checked once unpacked (archive)."""
    listed = _call(api.competition_list_files, competition, competition=competition, on_retry=on_retry)
    names = sorted(f.name for f in (listed.files if listed else []) or [])
    if not set(DATA_FILES) <= set(names):
        raise KaggleError(not_our_files(competition, names))


def download_competition(competition: str, dest_dir, force: bool = False, quiet: bool = True,
                         on_retry=None) -> Path:
    """Download the competition's zip into dest_dir; return its path, dest_dir/<competition>.zip.
    Unless quiet, the client's progress bar goes to stderr. Without force the client skips a
    zip already there that is as new as Kaggle's."""
    api = _client(on_retry)
    if competition != KNOWN_COMPETITION:
        _check_files(api, competition, on_retry)
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)  # as the user's umask says, unlike a mkdtemp folder (0700)
    _call(api.competition_download_files, competition, path=str(dest), force=force, quiet=quiet,
          competition=competition, progress=not quiet, on_retry=on_retry)
    zip_path = dest / f"{competition}.zip"
    if not zip_path.is_file():
        raise KaggleError(f"Kaggle's download of '{competition}' did not produce {zip_path}: run it again with --force.")
    return zip_path


def _limits(api, competition):
    """Kaggle's submission counts, or None: only a hint, so any failure here is ignored and the
    real call that follows reports real problems."""
    try:
        with _hushed():
            return api.competition_get_submission_limits(competition)
    except Exception:
        return None


def submit(path, message: str, competition: str, quiet: bool = True,
           on_retry=None) -> tuple[int | None, int | None]:
    """Upload a submission file; return (Kaggle's ref, submissions left today, None if unknown).
    Refuses before uploading when Kaggle says today's allowance is used up. Unless quiet, the client's
    upload bar (bytes, speed) goes to stderr."""
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"{path} does not exist: write it first (e.g. with `kagglekit predict`).")
    api = _client(on_retry)
    before = _limits(api, competition)
    # All-zero counts mean "no team yet", not "limit reached", so a limit needs a submission behind it.
    if before and before.num_allowed_now == 0 and (before.num_today or before.limited_by_total):
        raise KaggleError(f"Daily submission limit reached for '{competition}' ({before.num_today} today, none "
                          f"left): nothing was uploaded; try again after midnight UTC.")
    result = _call(api.competition_submit, str(path), message, competition, quiet=quiet, competition=competition,
                   progress=not quiet, on_retry=on_retry)
    if result.message == UPLOAD_FAILED:
        raise KaggleError(f"Kaggle refused the upload of {path.name} (\"{UPLOAD_FAILED}\"): nothing was "
                          f"submitted; try again in a few minutes.")
    if _LIMIT_TEXT.search(result.message or ""):
        raise KaggleError(f"Daily submission limit reached for '{competition}' (Kaggle: \"{result.message}\"): "
                          f"try again after midnight UTC.")
    after = _limits(api, competition)
    remaining = after.num_allowed_now if after and after.num_today else None
    return (result.ref or None), remaining


def _submission(s) -> Submission:
    return Submission(ref=s.ref, file_name=s.file_name or "", date=s.date, description=s.description or "",
                      status=s.status.name.lower() if s.status else "pending",
                      public=s.public_score or "", private=s.private_score or "",
                      error=" ".join((s.error_description or "").split()))


def _fetch_submission(api, ref, missing_ok=False):
    """GetSubmission without the client's own 10-try retry loop, so RETRY_DELAYS governs."""
    import requests
    from kagglesdk.competitions.types.competition_api_service import ApiGetSubmissionRequest
    request = ApiGetSubmissionRequest()
    request.ref = int(ref)
    with api.build_kaggle_client() as client:
        try:
            return client.competitions.competition_api_client.get_submission(request)
        except requests.HTTPError as e:
            # Right after creation a submission may not be readable yet; the client waits too.
            if missing_ok and e.response is not None and e.response.status_code == 404:
                return None
            raise


def get_submission(ref: int, on_retry=None) -> Submission:
    """One submission by its ref."""
    return _submission(_call(_fetch_submission, _client(on_retry), ref, ref=ref, on_retry=on_retry))


def _why(error) -> str:
    """What stopped a call, in a few words ("HTTP 503"), from the failure _call turned into `error`."""
    import requests
    cause = error.__context__
    if isinstance(cause, requests.HTTPError) and cause.response is not None:
        return f"HTTP {cause.response.status_code}"
    if isinstance(cause, (requests.ConnectionError, requests.Timeout)):
        return "Kaggle could not be reached"
    return str(error).rstrip(".")


def wait_for_score(ref: int, poll: float | None = None, timeout: float | None = None, on_poll=None,
                   on_retry=None) -> Submission:
    """Poll until Kaggle has scored submission `ref`; return it. ERROR raises a KaggleError carrying
    Kaggle's errorDescription; failing to ask raises ScoreUnavailable, since the submission exists.
    on_poll(submission or None) is called before each wait."""
    poll = POLL_SECONDS if poll is None else poll
    timeout = WAIT_TIMEOUT if timeout is None else timeout
    deadline = time.monotonic() + timeout
    try:
        api = _client(on_retry)
    except KaggleError as e:
        raise ScoreUnavailable(ref, _why(e)) from None
    while True:
        try:
            raw = _call(_fetch_submission, api, ref, missing_ok=True, ref=ref, on_retry=on_retry)
        except KaggleError as e:
            raise ScoreUnavailable(ref, _why(e)) from None
        sub = _submission(raw) if raw is not None else None
        if sub and sub.status == "complete":
            return sub
        if sub and sub.status == "error":
            raise KaggleError(f"Kaggle could not score submission {ref}: {sub.error or 'no reason given'} "
                              f"(fix the file and submit again).")
        if time.monotonic() >= deadline:
            raise KaggleError(f"Submission {ref} is still not scored after {timeout:.0f} s: check it later with "
                              f"`kagglekit submissions`.")
        if on_poll:
            on_poll(sub)
        time.sleep(poll)


def list_submissions(competition: str, on_retry=None) -> list[Submission]:
    """Your most recent submissions (Kaggle's first page, 20), newest first."""
    api = _client(on_retry)
    subs = [_submission(s) for s in _call(api.competition_submissions, competition, competition=competition,
                                          on_retry=on_retry) or []]
    return sorted(subs, key=lambda s: s.date.timestamp() if s.date else 0.0, reverse=True)


# --- kernels -----------------------------------------------------------------------------------
def _push(api, folder):
    """kernels_push, with the client's local metadata checks turned into KernelErrors."""
    try:
        return api.kernels_push(str(folder))
    except ValueError as e:
        raise KernelError(f"{Path(folder) / 'kernel-metadata.json'} is not valid for Kaggle: "
                          f"{' '.join(str(e).split())}; fix it and push again.") from None


def push_kernel(folder, on_retry=None) -> tuple[str, int | None]:
    """Push the kernel in `folder` (kernel-metadata.json + its code file); return (its URL on Kaggle,
    the new version number). An `error` or a rejected source in Kaggle's reply raises KernelError
    (the official CLI exits 0 there)."""
    try:
        kernel = json.loads((Path(folder) / "kernel-metadata.json").read_text()).get("id") or str(folder)
    except (OSError, ValueError, AttributeError):
        kernel = str(folder)  # _push reports the unreadable file in the client's words
    api = _client(on_retry)
    reply = _call(_push, api, folder, kernel=kernel, on_retry=on_retry)
    if reply.error:
        raise KernelError(f"Kaggle refused to push kernel '{kernel}': {' '.join(reply.error.split())}")
    rejected = {name: getattr(reply, f"invalid_{name}") for name in
                ("tags", "dataset_sources", "competition_sources", "kernel_sources", "model_sources")}
    rejected = "; ".join(f"{name} {', '.join(values)}" for name, values in rejected.items() if values)
    if rejected:
        raise KernelError(f"Kaggle rejected these entries of kernel-metadata.json for '{kernel}': {rejected}; "
                          f"fix or remove them and push again.")
    url = reply.url or (f"https://www.kaggle.com{reply.ref}" if reply.ref else "")
    return url, reply.version_number


def _versioned(kernel_id, version):
    """owner/slug/N, which the client sends as versionLabel "vN"; the latest run without a version."""
    return f"{kernel_id}/{version}" if version is not None else kernel_id


def kernel_status(kernel_id: str, version: int | None = None, on_retry=None) -> tuple[str, str]:
    """(status, failure message) of the kernel's run of `version` (push_kernel's number), or of its
    latest run. Status is one of "queued", "running", "complete", "error", "cancel_requested",
    "cancel_acknowledged", "new_script"; the message is "" unless Kaggle gave one (on "error").
    Kaggle's reply names no version: pass one to know which run the status is of."""
    api = _client(on_retry)
    reply = _call(api.kernels_status, _versioned(kernel_id, version), kernel=kernel_id, on_retry=on_retry)
    status = reply.status.name.lower() if reply.status else "queued"
    return status, " ".join((reply.failure_message or "").split())


def kernel_output(kernel_id: str, dest, version: int | None = None, on_retry=None) -> list[Path]:
    """Fetch the files and log of the kernel's run of `version`, or of its latest run, into dest;
    return their paths. Files land in a temporary folder first, then each is moved into place, so
    a failed fetch leaves dest as it was."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    api = _client(on_retry)
    tmp = Path(tempfile.mkdtemp(prefix=".kernel-output-", dir=dest))
    try:
        # force: a rerun's output must replace the last one, whatever the timestamps say.
        fetched, _ = _call(api.kernels_output, _versioned(kernel_id, version), str(tmp), force=True, quiet=True,
                           kernel=kernel_id, on_retry=on_retry)
        paths = []
        for path in fetched:
            final = dest / Path(path).relative_to(tmp)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, final)
            paths.append(final)
        return paths
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def completed_output(kernel_id: str, dest, version: int | None = None, on_retry=None) -> list[Path]:
    """kernel_output, but only once that run is complete: output fetched while a run is queued,
    running or failed is an older run's (or none), and submitting it submits stale predictions.
    With `version` (what push_kernel returned) status and files are both that run's; without
    it, a push between the two calls could still mix runs."""
    run = f"kernel {kernel_id}" + (f" version {version}" if version is not None else "")
    state, message = kernel_status(kernel_id, version, on_retry)
    if state == "error":
        raise KernelError(f"{run} failed on Kaggle: {message or 'no message given'}; its output is not "
                          f"submitted; read its log (`kagglekit kernel output`), fix the cause and push again.")
    if state != "complete":
        raise KernelError(f"{run} is {state.replace('_', ' ')}, not complete: its output would be stale; wait "
                          f"until `kagglekit kernel status` says complete, then submit.")
    return kernel_output(kernel_id, dest, version, on_retry)
