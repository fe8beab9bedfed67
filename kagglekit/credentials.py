"""Where the official `kaggle` client will find credentials, found without importing it (the import
authenticates, prints and may exit): kaggle.json, KAGGLE_USERNAME/KAGGLE_KEY or an access token.
Messages name the place, never the secret."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from .errors import KaggleError

TOKEN_HELP = "create one at https://www.kaggle.com/settings/api (Settings → API → Create New Token)"


def config_path() -> Path:
    """Where the client reads kaggle.json, by the same rules as kaggle 2.2.5."""
    if os.environ.get("KAGGLE_CONFIG_DIR"):
        return Path(os.environ["KAGGLE_CONFIG_DIR"]) / "kaggle.json"
    legacy = Path.home() / ".kaggle"
    if sys.platform.startswith("linux") and not legacy.exists():
        return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "kaggle" / "kaggle.json"
    return legacy / "kaggle.json"


def _has_text(path) -> bool:
    try:
        return bool(Path(path).read_text().strip())
    except (OSError, UnicodeDecodeError):
        return False


def _token_source() -> str | None:
    """Where the access token the client would use comes from, in the client's order."""
    v1 = os.environ.get("KAGGLE_API_V1_TOKEN")  # only inside a Kaggle notebook
    if os.environ.get("KAGGLE_KERNEL_RUN_TYPE") and os.environ.get("KAGGLE_DATA_PROXY_URL") and v1 \
            and _has_text(v1):
        return "KAGGLE_API_V1_TOKEN"
    if os.environ.get("KAGGLE_API_TOKEN"):
        return "KAGGLE_API_TOKEN"
    for name in ("access_token", "access_token.txt"):
        if _has_text(Path.home() / ".kaggle" / name):
            return str(Path.home() / ".kaggle" / name)
    return None


def credential_source() -> str:
    """Name where the credentials come from (an env var or a file), or raise a KaggleError that
    says where to put them. Checked before importing `kaggle`, which would print and exit instead."""
    token = _token_source()
    if token:
        return token
    path = config_path()
    try:
        data = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict):
        raise KaggleError(f"{path} is not a readable kaggle.json: replace it with a new one ({TOKEN_HELP}).")
    if os.environ.get("KAGGLE_USERNAME", data.get("username")) and os.environ.get("KAGGLE_KEY", data.get("key")):
        return "KAGGLE_USERNAME/KAGGLE_KEY" if os.environ.get("KAGGLE_KEY") else str(path)
    if (Path.home() / ".kaggle" / "credentials.json").is_file():  # from `kaggle auth login`
        return str(Path.home() / ".kaggle" / "credentials.json")
    raise KaggleError(f"No Kaggle credentials found: {TOKEN_HELP}, then save the downloaded kaggle.json "
                      f"as {path} (chmod 600) or set KAGGLE_API_TOKEN to the token.")


def credential_warnings() -> list[str]:
    """Problems that do not stop a call but deserve a line on stderr: a kaggle.json others can read."""
    path = config_path()
    try:
        readable_by_others = os.name != "nt" and path.stat().st_mode & 0o044
    except OSError:
        return []
    if readable_by_others:
        return [f"Warning: {path} is readable by other users of this computer; run: chmod 600 {path}"]
    return []
