"""Lazy package exports: a name's module is imported on first use, so packages that front
heavy libraries (torch, OpenCV, MediaPipe) stay cheap to import."""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable, Callable]:
    """Module-level ``__getattr__`` and ``__dir__`` for ``package``.

    exports: public name -> the module that defines it, or "module:name" where the module
    calls it something else. A resolved name is cached in the package's namespace, so later
    lookups are plain attribute reads.
    """

    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attribute = exports[name].partition(":")
        value = getattr(import_module(module), attribute or name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
