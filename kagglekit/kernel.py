"""The self-contained Kaggle kernel: one script generated from the package's own modules (inlined in
dependency order, imports between them removed, the rest hoisted) plus a short main, and its
kernel-metadata.json. Also the local metadata check, which applies the `kaggle` client's rules and ours
before anything is uploaded. One source of truth: nothing here is a second copy of the network."""
import ast
import json
import os
import re
import shutil
import symtable
import sys
import tempfile
from pathlib import Path

from . import __version__
from .config import preset
from .data import COMPETITION
from .errors import KernelError

PACKAGE_DIR = Path(__file__).parent
CODE_FILE = "kagglekit_digit_recognizer.py"
METADATA_FILE = "kernel-metadata.json"
DEFAULT_FOLDER = Path("kernels") / COMPETITION
DEFAULT_SLUG = "kagglekit-digit-recognizer"
ALLOWED = {"numpy", "pandas", "__future__"}  # beyond the standard library, all a kernel may import
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FIX = "fix the module, then run `make kernel`"

# The kernel's entry point, inlined last like a module: its `from .x import` lines pull in the rest.
MAIN = r'''"""Find the competition files, train with the preset's frozen config, write submission.csv."""
import argparse
import os
import sys
from pathlib import Path

from .config import TrainConfig
from .data import COMPETITION, DATA_FILES, check_competition_folder, load_train
from .errors import DataError, KagglekitError
from .recipe import predict_test, train_model

PRESET = __PRESET__
CONFIG = __CONFIG__
INPUT_ROOT = "/kaggle/input"  # where Kaggle mounts a kernel's data; --input or KAGGLEKIT_INPUT override it
OUTPUT_DIR = "/kaggle/working"  # what Kaggle keeps as the kernel's output; --output or KAGGLEKIT_OUTPUT


def find_competition(root, max_depth=4):
    """The shallowest folder under root holding the three competition files. Kaggle mounts them at
    <root>/digit-recognizer/ on older images and <root>/competitions/digit-recognizer/ on newer ones."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"input folder {root} not found; pass --input FOLDER or set KAGGLEKIT_INPUT")
    found = []
    for folder, subfolders, files in os.walk(root, followlinks=True):
        depth = len(Path(folder).relative_to(root).parts)
        if all(name in files for name in DATA_FILES):
            found.append((depth, folder))
        if depth >= max_depth:  # also ends any symlink loop
            subfolders.clear()
    if not found:
        raise DataError(f"no folder under {root} holds {', '.join(DATA_FILES)}; add the {COMPETITION} "
                        "competition to the kernel's input, or pass --input FOLDER")
    return Path(min(found)[1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=f"Train kagglekit's {PRESET} preset, write submission.csv.")
    parser.add_argument("--input", default=os.environ.get("KAGGLEKIT_INPUT", INPUT_ROOT),
                        help="folder searched for the competition files (default: %(default)s)")
    parser.add_argument("--output", default=os.environ.get("KAGGLEKIT_OUTPUT", OUTPUT_DIR),
                        help="folder that receives submission.csv (default: %(default)s)")
    args, _ = parser.parse_known_args(argv)  # notebook runners may add arguments of their own
    folder = find_competition(args.input)
    check_competition_folder(folder)
    print(f"kagglekit {PRESET} preset on {folder}", flush=True)
    x, y = load_train(folder / "train.csv")
    every = max(1, CONFIG.epochs // 20)

    def progress(row):
        if row["epoch"] % every == 0 or row["epoch"] == CONFIG.epochs:
            print(f"epoch {row['epoch']}/{CONFIG.epochs}: loss {row['train_loss']:.4f} "
                  f"acc {row['train_acc']:.4f} val_acc {row['val_acc']:.4f} ({row['seconds']:.0f} s)", flush=True)

    net, history, _ = train_model(x, y, CONFIG, progress)
    path, rows = predict_test(net.predict, folder, Path(args.output) / "submission.csv")
    print(f"wrote {path}: {rows} rows, validation accuracy {history.last['val_acc']:.4f}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except KagglekitError as e:
        sys.exit(f"Error: {e}")
'''


def _fail(where, node, problem):
    raise KernelError(f"cannot build the kernel: {where} line {node.lineno} {problem}; {FIX}")


def _parse(name, text, where=None):
    """A module's parts: deps [(module, names, node)], external imports, bound names, body, docstring."""
    where = where or f"{__package__}/{name}.py"
    try:
        tree, table = ast.parse(text, where), symtable.symtable(text, where, "exec")
    except SyntaxError as e:
        raise KernelError(f"cannot build the kernel: {where} line {e.lineno}: {e.msg}; {FIX}") from None
    mod = {"name": name, "where": where, "deps": [], "imports": [], "doc": ast.get_docstring(tree) or ""}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            if node.level > 1 or not node.module or "." in node.module or node not in tree.body \
                    or any(alias.asname for alias in node.names):
                _fail(where, node, "has an intra-package import the script cannot inline; write "
                                   "`from .module import name` (no `as`) at the top of the module")
            mod["deps"].append((node.module, [alias.name for alias in node.names], node))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for full in [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]:
                top = full.split(".")[0]  # (Python 3.9 has no stdlib_module_names: it cannot tell)
                if top not in ALLOWED and top not in getattr(sys, "stdlib_module_names", {top}):
                    _fail(where, node, f"imports {full}: a kernel may use only numpy, pandas and the standard library")
            if node in tree.body:
                mod["imports"] += [(getattr(node, "module", None), a.name, a.asname) for a in node.names]
    drop = {i for node in tree.body[:1] if mod["doc"] for i in range(node.lineno - 1, node.end_lineno)}
    drop |= {i for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
             for i in range(node.lineno - 1, node.end_lineno)}
    # Symbols the module binds itself; external imports are told apart by what they import.
    mod["bound"] = {s.get_name(): None for s in table.get_symbols() if s.is_assigned()}
    mod["bound"].update({alias or (name if module else name.split(".")[0]): (module, name)
                         for module, name, alias in mod["imports"]})
    body = "\n".join(line for i, line in enumerate(text.splitlines()) if i not in drop)
    mod["body"] = re.sub(r"\n{3,}", "\n\n\n", body).strip("\n")
    return mod


def _ordered(sources, main):
    """Modules in dependency order (each after what it imports), parsed only once reached from main."""
    modules, order = {"main": main}, []

    def visit(mod, path):
        mod["state"] = "visiting"
        for dep, names, node in mod["deps"]:
            if dep not in modules:
                if dep not in sources:
                    _fail(mod["where"], node, f"imports .{dep}, which is not a module of {__package__}")
                modules[dep] = _parse(dep, sources[dep].read_text())
            dep = modules[dep]
            if dep.get("state") == "visiting":
                raise KernelError(f"cannot build the kernel: import cycle "
                                  f"{' -> '.join(path + [mod['name'], dep['name']])}; {FIX}")
            if "state" not in dep:
                visit(dep, path + [mod["name"]])
            missing = [n for n in names if n not in dep["bound"]]
            if missing:
                _fail(mod["where"], node, f"imports {', '.join(missing)} from .{dep['name']}, which does not define it")
        mod["state"] = "done"
        order.append(mod)
    visit(main, [])
    return order


def _hoisted(order):
    """All external imports once each: __future__, then the standard library, then numpy and pandas."""
    lines, froms = set(), {}
    for module, name, alias in (imp for mod in order for imp in mod["imports"]):
        as_ = f" as {alias}" if alias else ""
        if module:
            froms.setdefault(module, set()).add(name + as_)
        else:
            lines.add(f"import {name}{as_}")
    lines |= {f"from {m} import {', '.join(sorted(names))}" for m, names in froms.items()}
    groups = {}
    for line in lines:
        module = line.split()[1]
        groups.setdefault((module != "__future__", module.split(".")[0] in ALLOWED), []).append(line)
    return "\n\n".join("\n".join(sorted(g, key=lambda l: l.split()[1])) for _, g in sorted(groups.items()))


def _check_names(order):
    """All modules share the script's one namespace, where a name bound twice would shadow silently."""
    owner = {}
    for mod in order:
        for name, source in mod["bound"].items():
            if name in owner and (source is None or owner[name][1] != source):
                raise KernelError(f"cannot build the kernel: {owner[name][0]} and {mod['where']} both define "
                                  f"{name!r}, and the script puts them in one namespace; rename one or import "
                                  f"it from the other, then run `make kernel`")
            owner.setdefault(name, (mod["where"], source))


def config_literal(config):
    fields = ",\n".join(f"    {k}={getattr(config, k)!r}" for k in config.to_dict())
    return f"{type(config).__name__}(\n{fields},\n).check()"


def render_script(preset_name, config=None, package_dir=PACKAGE_DIR):
    """The kernel script's text for a preset (or a config derived from it), built from the modules in
    package_dir and compiled once."""
    base = preset(preset_name)
    config = base if config is None else config
    changed = ", ".join(f"{k}={v!r}" for k, v in config.to_dict().items() if v != base.to_dict()[k])
    main = MAIN.replace("__PRESET__", repr(preset_name)).replace("__CONFIG__", config_literal(config))
    main = _parse("main", main, "the kernel's main")
    order = _ordered({p.stem: p for p in Path(package_dir).glob("*.py")}, main)
    _check_names(order)
    command = f"kagglekit kernel build --preset {preset_name}" + (f"` with {changed}" if changed else "`")
    header = (f"# {CODE_FILE}: generated by kagglekit {__version__}, `{command}.\n"
              f"# DO NOT EDIT: it is kagglekit's own modules inlined in dependency order\n"
              f"# ({', '.join(m['name'] for m in order[:-1])}) plus a main.\n"
              f"# Change those modules, then run `make kernel`.\n"
              f"# Needs only numpy and pandas. Run: python {CODE_FILE} [--input DIR] [--output DIR]\n"
              f"# (or set KAGGLEKIT_INPUT, KAGGLEKIT_OUTPUT; the defaults are /kaggle/input, /kaggle/working).")
    parts = [header, _hoisted(order)]
    for mod in order:
        doc = "\n".join(f"# {line}".rstrip() for line in mod["doc"].splitlines())
        title = "main" if mod["name"] == "main" else f"{mod['name']}.py"
        parts.append(f"# {'-' * 20} {title} {'-' * (70 - len(title))}\n{doc}\n\n{mod['body']}")
    script = "\n\n\n".join(parts) + "\n"
    try:
        compile(script, CODE_FILE, "exec")
    except SyntaxError as e:
        raise KernelError(f"cannot build the kernel: the generated script does not compile (line {e.lineno}: "
                          f"{e.msg}); {FIX}") from None
    return script


def slugify(title):
    """A title as Kaggle turns it into a kernel slug: lowercase words joined by hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower().replace("'", "")).strip("-")


def metadata(kernel_id):
    """kernel-metadata.json with every field set, so no client default (enable_internet: true) applies."""
    slug = kernel_id.split("/")[-1]
    return {"id": kernel_id, "title": slug.replace("-", " ").title(), "code_file": CODE_FILE,
            "language": "python", "kernel_type": "script", "is_private": True, "enable_gpu": False,
            "enable_tpu": False, "enable_internet": False, "dataset_sources": [],
            "competition_sources": [COMPETITION], "kernel_sources": [], "model_sources": [], "keywords": []}


def _problems(meta, folder):
    """What the `kaggle` client would refuse (protocol notes, section 7), then what kagglekit requires."""
    def text(key):
        return meta[key] if isinstance(meta.get(key), str) else ""
    kernel_id, title, code = text("id"), text("title"), text("code_file")
    owner, _, slug = kernel_id.partition("/")
    if len(title) < 5:
        yield f"title must be at least 5 characters, got {meta.get('title')!r}"
    if not code or not (Path(folder) / code).is_file():
        yield f"code_file must name the script in {folder}, got {meta.get('code_file')!r}"
    if not owner or not SLUG.match(slug) or len(slug) < 5:
        yield f"id must be USERNAME/slug, the slug 5+ lowercase letters, digits or hyphens, got {meta.get('id')!r}"
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
    path, fix = Path(folder) / METADATA_FILE, f"build it with `kagglekit kernel build -p {folder}`"
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise KernelError(f"{path} not found; {fix}") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise KernelError(f"{path} is not readable JSON ({type(e).__name__}); {fix}") from None
    problems = list(_problems(meta, folder)) if isinstance(meta, dict) else ["it must hold a JSON object"]
    if problems:
        raise KernelError(f"{path}: {'; '.join(problems)}; fix it, or rebuild it with `kagglekit kernel build`")
    return meta


def build(folder, preset_name, kernel_id, config=None):
    """Write the script and its metadata into folder, all or nothing: they are built and checked in a
    temporary folder that then replaces folder (other files there are kept). Returns the script's path."""
    folder = Path(folder)
    files = {CODE_FILE: render_script(preset_name, config),
             METADATA_FILE: json.dumps(metadata(kernel_id), indent=2) + "\n"}
    if folder.exists() and not folder.is_dir():
        raise KernelError(f"{folder} is a file, not a folder; pass -p with a folder for the kernel")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    old = tmp.with_name(tmp.name + ".old")
    try:
        tmp.chmod(0o755)  # mkdtemp's 0700 would stick to the renamed folder
        for entry in folder.iterdir() if folder.is_dir() else []:
            if entry.name not in files:
                (shutil.copytree if entry.is_dir() else shutil.copy2)(entry, tmp / entry.name)
        for name, text in files.items():
            (tmp / name).write_bytes(text.encode())
        problems = list(_problems(metadata(kernel_id), tmp))
        if problems:  # only the id can be wrong here
            raise KernelError(f"cannot build the kernel for id {kernel_id!r}: {'; '.join(problems)}; pass "
                              f"--id USERNAME/{DEFAULT_SLUG} with your Kaggle username")
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return folder / CODE_FILE
