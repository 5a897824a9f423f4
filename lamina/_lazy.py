"""Explicit, lazily imported public names (PEP 562).

Each public package lists its names and the private module defining them; a name is
imported on first access, which keeps ``import lamina`` fast.
"""

import importlib
import sys


def attach(package_name, exports):
    """Returns ``(__getattr__, __dir__, __all__)`` for a package exporting ``exports``.

    ``exports`` maps a public name to ``"module.path"`` (the module itself) or
    ``"module.path:attribute"``.
    """

    def __getattr__(name):
        target = exports.get(name)
        if target is None:
            raise AttributeError(f"module {package_name!r} has no attribute {name!r}")
        module_path, _, attribute = target.partition(":")
        module = importlib.import_module(module_path)
        value = getattr(module, attribute) if attribute else module
        # Cache it on the package: later look-ups skip this hook, and a public name that is also the name of
        # the submodule defining it (``distribute.launch``) keeps meaning the function once the import has
        # set the submodule as a package attribute.
        setattr(sys.modules[package_name], name, value)
        return value

    def __dir__():
        return sorted(exports)

    return __getattr__, __dir__, sorted(exports)
