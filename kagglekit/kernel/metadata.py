"""kernel-metadata.json: what the build writes (every field set), and the local check that applies the
`kaggle` client's rules and ours before anything is uploaded."""
import json
import re
import shlex
import shutil
from pathlib import Path

from ..data import COMPETITION
from ..errors import KernelError

CODE_FILE = "kagglekit_digit_recognizer.py"
METADATA_FILE = "kernel-metadata.json"
DEFAULT_SLUG = "kagglekit-digit-recognizer"
# The id the committed kernel carries; push puts your Kaggle username in place of this owner, so a
# build is the same for everyone and never rewrites the committed kernel-metadata.json.
PLACEHOLDER_OWNER = "kagglekit"
DEFAULT_ID = f"{PLACEHOLDER_OWNER}/{DEFAULT_SLUG}"
DEFAULT_FOLDER = Path("kernels") / COMPETITION
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
OWNER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")  # a Kaggle username: no space, no '/', no '..'
ID_FORM = ("id must be USERNAME/slug, the username letters, digits, hyphens or underscores and the slug 5+ "
           "lowercase letters, digits or hyphens")


def slugify(title):
    """A title as Kaggle turns it into a kernel slug: lowercase words joined by hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower().replace("'", "")).strip("-")


def command(words, folder):
    """`kagglekit kernel <words>` as a user can paste it: with -p unless folder is the default."""
    given = f" -p {shlex.quote(str(folder))}" if Path(folder) != DEFAULT_FOLDER else ""
    return f"kagglekit kernel {words}{given}"


def metadata(kernel_id):
    """kernel-metadata.json with every field set, so no client default (enable_internet: true) applies."""
    slug = kernel_id.split("/")[-1]
    return {"id": kernel_id, "title": slug.replace("-", " ").title(), "code_file": CODE_FILE,
            "language": "python", "kernel_type": "script", "is_private": True, "enable_gpu": False,
            "enable_tpu": False, "enable_internet": False, "dataset_sources": [],
            "competition_sources": [COMPETITION], "kernel_sources": [], "model_sources": [], "keywords": []}


def id_problem(kernel_id):
    """What is wrong with a kernel id (owner/slug), or "": it names a kernel, and a file under its slug."""
    owner, _, slug = str(kernel_id).partition("/")
    return "" if OWNER.match(owner) and SLUG.match(slug) and len(slug) >= 5 else f"{ID_FORM}, got {kernel_id!r}"


def inside(folder, name):
    """Whether `name`, a path from a metadata field, is relative and stays inside folder (links resolved)."""
    if "\0" in name or Path(name).is_absolute() or ".." in Path(name).parts:
        return False
    root = Path(folder).resolve()
    return (root / name).resolve().is_relative_to(root)


def problems(meta, folder):
    """What the `kaggle` client would refuse (protocol notes, section 7), then what kagglekit requires."""
    def text(key):
        return meta[key] if isinstance(meta.get(key), str) else ""
    kernel_id, title, code = text("id"), text("title"), text("code_file")
    slug = kernel_id.partition("/")[2]
    if len(title) < 5:
        yield f"title must be at least 5 characters, got {meta.get('title')!r}"
    if code and not inside(folder, code):  # push would upload it, and copy it as far out of its temporary folder
        yield f"code_file must be a path inside {folder}, got {code!r}"
    elif not code or not (Path(folder) / code).is_file():
        yield f"code_file must name the script in {folder}, got {meta.get('code_file')!r}"
    if id_problem(kernel_id):
        yield f"{ID_FORM}, got {meta.get('id')!r}"
    elif title and slugify(title) != slug:
        yield f"title {title!r} must slugify to the id's slug {slug!r}, not {slugify(title)!r}"
    for key, wanted in (("language", "python"), ("kernel_type", "script")):
        if meta.get(key) != wanted:
            yield f"{key} must be {wanted!r}, got {meta.get(key)!r}"
    for key in ("is_private", "enable_gpu", "enable_tpu", "enable_internet"):
        if str(meta.get(key)).lower() not in ("true", "false") or not isinstance(meta[key], (bool, str)):
            yield f"{key} must be true or false, got {meta.get(key)!r}"
    if str(meta.get("enable_internet")).lower() == "true":  # absent, the client would make it true
        yield "enable_internet must be false: competition kernels run offline"
    if meta.get("competition_sources") != [COMPETITION]:
        yield f"competition_sources must be [\"{COMPETITION}\"], got {meta.get('competition_sources')!r}"
    for key, form in (("dataset_sources", "owner/slug"), ("kernel_sources", "owner/slug"),
                      ("model_sources", "owner/model/framework/instance/1")):
        for source in meta.get(key) or []:
            parts = str(source).split("/")
            if not all(parts) or len(parts) not in ((5,) if key == "model_sources" else (2, 3)):
                yield f"{key} entry {source!r} must look like {form}"
    if meta.get("docker_image_pinning_type", "original") not in ("original", "latest"):
        yield f"docker_image_pinning_type must be 'original' or 'latest', got {meta['docker_image_pinning_type']!r}"


def check_metadata(folder):
    """The folder's kernel-metadata.json as a dict if Kaggle's client and kagglekit both accept it; else
    one KernelError naming every bad field."""
    path, fix = Path(folder) / METADATA_FILE, f"build it with `{command('build', folder)}`"
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise KernelError(f"{path} not found; {fix}") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise KernelError(f"{path} is not readable JSON ({type(e).__name__}); {fix}") from None
    found = list(problems(meta, folder)) if isinstance(meta, dict) else ["it must hold a JSON object"]
    if found:
        raise KernelError(f"{path}: {'; '.join(found)}; fix it, or rebuild it with `{command('build', folder)}`")
    return meta


def stage_for_push(folder, meta, kernel_id, dest):
    """Write into dest the folder's script and its metadata `meta` under kernel_id (a new slug gets its
    title): what push uploads, so the folder keeps the id it was built with. Returns dest."""
    renamed = kernel_id.rpartition("/")[2] != meta["id"].rpartition("/")[2]
    meta = {**meta, "id": kernel_id, **({"title": metadata(kernel_id)["title"]} if renamed else {})}
    found = list(problems(meta, folder))
    if found:
        raise KernelError(f"cannot push as {kernel_id!r}: {'; '.join(found)}; pass --id YOUR_USERNAME/{DEFAULT_SLUG} "
                          f"or leave --id out to push as your Kaggle user")
    (Path(dest) / meta["code_file"]).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(Path(folder) / meta["code_file"], Path(dest) / meta["code_file"])
    (Path(dest) / METADATA_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return Path(dest)
