"""Explicit, lazily imported public names (PEP 562).

Each public package lists its names and the private module defining them; a name is
imported on first access, which keeps ``import lamina`` fast.
"""

import importlib


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
        return getattr(module, attribute) if attribute else module

    def __dir__():
        return sorted(exports)

    return __getattr__, __dir__, sorted(exports)
