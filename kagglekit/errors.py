"""The errors kagglekit raises. Each carries a one-line message that names the problem and the fix;
the CLI prints it as "Error: ..." and exits 1, so library code raises and never exits."""


class KagglekitError(Exception):
    """Base class: str(error) is the one line shown to the user."""


class ConfigError(KagglekitError):
    """A bad training setting or preset name."""


class DataError(KagglekitError):
    """A missing, malformed or inconsistent competition file."""


class ModelError(KagglekitError):
    """A model file that is missing, corrupt or does not fit the data."""


class DamagedFileError(KagglekitError):
    """A file kagglekit wrote that no longer reads back (cut short, overwritten, altered): `why` says how,
    without the file's name or a fix, for callers that know the fix (retrain, rebuild) to word their own."""

    def __init__(self, path, why):
        super().__init__(f"{path} is damaged ({why}); write it again")
        self.path, self.why = path, why


class TrainingError(KagglekitError):
    """Training went wrong, e.g. the weights stopped being finite."""


class SubmissionError(KagglekitError):
    """A submission or solution CSV that Kaggle would reject or that cannot be scored."""


class KaggleError(KagglekitError):
    """A call to Kaggle failed: credentials, permissions, network or the server."""


class KernelError(KagglekitError):
    """The kernel script or its metadata cannot be built, checked or pushed."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, re-raised by a step that knows what it kept: str(error) says so, e.g. "nothing was kept
    (the run folder runs/x was removed)". The CLI prints "Interrupted: ..." and exits 130."""


class ScoreUnavailable(KaggleError):
    """The submission WAS made (Kaggle gave it `ref`), but its score could not be fetched: the CLI
    must not call it a failure, or the user may submit the same file twice."""

    def __init__(self, ref, why):
        super().__init__(f"Submitted as ref {ref}, but Kaggle's score could not be fetched ({why}); follow it "
                         f"with `kagglekit submissions`.")
        self.ref = ref
