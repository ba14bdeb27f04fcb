"""Methods, registered by name. ``get_method_class('conv_ae')`` returns the class."""

from __future__ import annotations

import importlib

from vadflow.errors import ConfigError
from vadflow.methods.base import InputSpec, Method, VideoScores

_REGISTRY: dict[str, type[Method]] = {}

#: modules that register methods when imported (imported lazily: they pull in torch)
_METHOD_MODULES = (
    "vadflow.methods.conv_ae",
    "vadflow.methods.convlstm_ae",
    "vadflow.methods.feature_methods",
    "vadflow.methods.srnn",
)


def register(cls: type[Method]) -> type[Method]:
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"method name {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def _load_all() -> None:
    for mod in _METHOD_MODULES:
        importlib.import_module(mod)


def get_method_class(name: str) -> type[Method]:
    _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown method {name!r}", f"registered methods: {', '.join(sorted(_REGISTRY))}") from None


def registered_methods() -> dict[str, type[Method]]:
    _load_all()
    return dict(sorted(_REGISTRY.items()))


__all__ = ["InputSpec", "Method", "VideoScores", "register", "get_method_class", "registered_methods"]
