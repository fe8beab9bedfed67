"""Which of the package's modules the kernel script carries: those the entry point imports, followed
module by module, in dependency order. A module imported only inside a function (lazily) is carried
when LAZY says the config needs it, or when LAZY does not name it. Anything the script could not run
on Kaggle is refused with one KernelError naming the module, the line and the fix; another library is
allowed only where the import is tried (`try: ... except ImportError:`), as the module then does without it."""
import ast
import symtable
import sys
from pathlib import Path

from ..errors import KernelError
from ..fast.train import is_full_batch

ALLOWED = {"numpy", "pandas", "__future__"}  # beyond the standard library, all a kernel may import untried
FIX = "fix the module, then run `make kernel`"
# Lazily imported modules carried only when the config uses them, with why. A module left out fails
# with a clear ImportError if it is ever imported (kernel/loader.py).
LAZY = {
    # fast/train.py imports the full-batch parts (packed rows) only for a full-batch config.
    "kagglekit.fast.fullbatch": is_full_batch,
}


class Module:
    """One module of the package: its file, its source, and the package modules it imports."""

    def __init__(self, name, path, root):
        self.name = name
        self.file = path.relative_to(root.parent).as_posix()  # e.g. kagglekit/nn/train.py
        self.text = path.read_text()
        try:
            compile(self.text, self.file, "exec")  # what parsing alone lets through, e.g. a stray return
            self.tree = ast.parse(self.text, self.file)
            table = symtable.symtable(self.text, self.file, "exec")
        except SyntaxError as e:
            raise KernelError(f"cannot build the kernel: {self.file} line {e.lineno}: {e.msg}; {FIX}") from None
        self.defines = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
        self.package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        self.imports = []  # (module name, names it must define, ast node, lazy) per package import

    def fail(self, node, problem):
        raise KernelError(f"cannot build the kernel: {self.file} line {node.lineno} {problem}; {FIX}")


def _imports(tree, in_function=False, tried=False):
    """(node, lazy, tried) for every import in tree; lazy when it runs only once a function is called,
    tried when it is in the body of a try that catches ImportError (the code does without the module)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, in_function, tried
        lazy = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        if isinstance(node, ast.Try) and any(_catches_import_error(h.type) for h in node.handlers):
            for child in node.body:
                yield from _imports(ast.Module([child], []), lazy, True)
            for child in node.handlers + node.orelse + node.finalbody:
                yield from _imports(ast.Module([child], []), lazy, tried)
            continue
        yield from _imports(node, lazy, tried)


def _catches_import_error(kind):
    """Whether an except clause's type (a name, or a tuple of names) catches ImportError."""
    names = kind.elts if isinstance(kind, ast.Tuple) else [kind]
    return any(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError") for n in names)


class Graph:
    """The package's modules, each parsed once when first reached."""

    def __init__(self, package_dir):
        self.root = Path(package_dir)
        self.top = self.root.name
        self.modules = {}

    def path(self, name):
        """The file of a dotted module name of the package, or None."""
        base = self.root.joinpath(*name.split(".")[1:])
        return next((p for p in (base / "__init__.py", base.with_suffix(".py")) if p.is_file()), None)

    def load(self, name):
        if name not in self.modules:
            module = self.modules[name] = Module(name, self.path(name), self.root)
            if "." in name:  # importing a.b runs a/__init__.py first
                module.imports.append((name.rpartition(".")[0], [], None, False))
            for node, lazy, tried in _imports(module.tree):
                module.imports += [(dep, names, node, lazy) for dep, names in self._targets(module, node, tried)]
        return self.modules[name]

    def _targets(self, module, node, tried=False):
        """(package module, names it must define) for each module an import needs; refuses imports of
        anything but the package, numpy, pandas and the standard library, unless tried."""
        if isinstance(node, ast.Import):
            names = [(alias.name, []) for alias in node.names]
        elif node.level:
            parts = module.package.split(".")
            if node.level > len(parts):
                module.fail(node, "imports from beyond the top of the package")
            base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            names = [(base, [alias.name for alias in node.names])]
        else:
            names = [(node.module, [alias.name for alias in node.names])]
        found = []
        for full, attrs in names:
            top = full.split(".")[0]
            if top == self.top:
                if self.path(full) is None:
                    module.fail(node, f"imports {full}, which is not a module of {self.top}")
                subs = [f"{full}.{a}" for a in attrs if self.path(f"{full}.{a}")]  # `from . import data`
                found += [(full, [a for a in attrs if f"{full}.{a}" not in subs and a != "*"])]
                found += [(sub, []) for sub in subs]
            elif top not in ALLOWED and top not in sys.stdlib_module_names and not tried:
                module.fail(node, f"imports {full}: a kernel may use only numpy, pandas, the standard "
                                  f"library and {self.top}'s own modules")
        return found


def carried(package_dir, entry, config):
    """The modules the script must carry to run entry (a dotted name) with config, each after the
    modules it imports. An import cycle among module-level imports is refused."""
    graph, order, state = Graph(package_dir), [], {}

    def visit(name, chain):  # chain: the module-level imports that led here
        state[name] = "visiting"
        module = graph.load(name)
        for dep, names, node, lazy in module.imports:
            if lazy and not LAZY.get(dep, lambda config: True)(config):
                continue
            if not lazy and node is not None and dep in chain + [name]:  # (not the parent-package edge)
                raise KernelError(f"cannot build the kernel: import cycle {' -> '.join(chain + [name, dep])}; "
                                  f"{FIX}")
            if dep not in state:
                visit(dep, [] if lazy else chain + [name])
            missing = [n for n in names if n not in graph.modules[dep].defines]
            if missing:
                module.fail(node, f"imports {', '.join(missing)} from {dep}, which does not define it")
        state[name] = "done"
        order.append(module)
    visit(entry, [])
    return order
