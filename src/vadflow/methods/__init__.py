"""Methods, one folder per paper, found by name.

Layout: ``methods/<paper>/__init__.py`` lists its methods in ``METHODS`` (``MethodInfo``s:
name, label, supervision, ``Params``, input, resources, and the ``module:Class`` that
implements it) and imports no torch; the implementation sits beside it. Every sub-package
of ``vadflow.methods`` that has ``METHODS`` is registered when first asked for, and so is
every module a distribution declares under the entry-point group ``vadflow.methods``
(methods of your own, in your own package). Shared parts: ``api`` (the contract), ``run``
(train/score a configured entry), ``engine`` (the training engine), ``nn`` (network blocks),
``common`` (frame loading, feature rows, windowed scoring).
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import entry_points

from vadflow.errors import ConfigError
from vadflow.methods.api import InputSpec, Method, MethodInfo, MethodRun, Supervision, VideoInput
from vadflow.scores import VideoScores

#: sub-packages that hold shared code, not a paper's methods
SHARED = ("api", "run", "engine", "nn", "common")

_INFOS: dict[str, MethodInfo] = {}
_FOUND = False


def _add(infos, where: str) -> None:
    for info in infos:
        if info.name in _INFOS and _INFOS[info.name] != info:
            raise ValueError(f"method name {info.name!r} is registered twice (again by {where})")
        _INFOS[info.name] = info


def _discover() -> None:
    global _FOUND
    if _FOUND:
        return
    for mod in pkgutil.iter_modules(__path__):
        if mod.ispkg and mod.name not in SHARED:
            package = importlib.import_module(f"{__name__}.{mod.name}")
            _add(getattr(package, "METHODS", ()), package.__name__)
    for ep in entry_points(group="vadflow.methods"):
        _add(getattr(ep.load(), "METHODS", ()), f"entry point {ep.name}")
    _FOUND = True


def method_infos() -> dict[str, MethodInfo]:
    """Every registered method by name (no torch imported)."""
    _discover()
    return dict(sorted(_INFOS.items()))


def method_info(name: str) -> MethodInfo:
    _discover()
    try:
        return _INFOS[name]
    except KeyError:
        raise ConfigError(f"unknown method {name!r}", f"registered methods: {', '.join(sorted(_INFOS))}") from None


def get_method_class(name: str) -> type[Method]:
    """The implementation of a registered method (imports its module, and so torch)."""
    info = method_info(name)
    cls = info.load()
    cls.info = info
    return cls


__all__ = [
    "InputSpec",
    "Method",
    "MethodInfo",
    "MethodRun",
    "Supervision",
    "VideoInput",
    "VideoScores",
    "get_method_class",
    "method_info",
    "method_infos",
]
