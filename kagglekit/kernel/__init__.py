"""The self-contained Kaggle kernel: a script generated from the package's own modules (script.py,
imports.py; loader.py runs inside it) and its kernel-metadata.json (metadata.py). The entry point the
script runs is kagglekit/kernel_main.py."""
from .metadata import (CODE_FILE, DEFAULT_FOLDER, DEFAULT_ID, DEFAULT_SLUG, METADATA_FILE, PLACEHOLDER_OWNER,
                       check_metadata, command, id_problem, metadata, slugify, stage_for_push)
from .script import build, render_script

__all__ = ["CODE_FILE", "DEFAULT_FOLDER", "DEFAULT_ID", "DEFAULT_SLUG", "METADATA_FILE", "PLACEHOLDER_OWNER",
           "build", "check_metadata", "command", "id_problem", "metadata", "render_script", "slugify", "stage_for_push"]
