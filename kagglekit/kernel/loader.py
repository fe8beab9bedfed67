"""How the kernel script imports the modules it carries: a finder on sys.meta_path that makes each
source a real module under its dotted name (a package for an __init__.py), so every module keeps its
own namespace and relative imports work as in the package. The build copies this file into the script."""
import importlib.abc
import importlib.util
import sys


class CarriedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds and loads the modules of `package` from sources, {file path: source text}."""

    def __init__(self, package, sources):
        self.package, self.files = package, {}
        for path, text in sources.items():
            name = path[:-len(".py")].replace("/", ".").removesuffix(".__init__")
            self.files[name] = (path, text)

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] != self.package:
            return None  # numpy, pandas and the standard library come from the usual places
        if name not in self.files:
            # Left out at build time (e.g. full-batch workers for a minibatch preset): say so, rather
            # than let a stray installed copy of the package answer.
            raise ImportError(f"{name} is not in this kernel script: it was built for a config that does "
                              "not use it; build the script again for the config you run")
        origin = self.files[name][0]
        return importlib.util.spec_from_loader(name, self, origin=origin,
                                               is_package=origin.endswith("__init__.py"))

    def create_module(self, spec):
        return None  # the default module object

    def exec_module(self, module):
        path, text = self.files[module.__name__]
        module.__file__ = path
        exec(compile(text, path, "exec"), module.__dict__)

    def get_source(self, name):
        return self.files[name][1]  # tracebacks show the carried lines


def run(package, sources, entry):
    """Import entry (a dotted module name) from sources and call its run()."""
    sys.meta_path.insert(0, CarriedModules(package, sources))
    importlib.import_module(entry).run()
