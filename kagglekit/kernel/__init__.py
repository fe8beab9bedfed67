"""The self-contained Kaggle kernel: a script generated from the package's own modules (script.py,
imports.py; loader.py runs inside it) and its kernel-metadata.json (metadata.py). The entry point the
script runs is kagglekit/kernel_main.py."""
from .metadata import CODE_FILE, DEFAULT_SLUG, METADATA_FILE, check_metadata, metadata, slugify
from .script import DEFAULT_FOLDER, build, render_script

__all__ = ["CODE_FILE", "DEFAULT_FOLDER", "DEFAULT_SLUG", "METADATA_FILE", "build", "check_metadata",
           "metadata", "render_script", "slugify"]
