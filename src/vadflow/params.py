"""Hyper-parameter dataclasses from config mappings: one checker for methods and generators.

Types follow each field's default (int, float, bool, str, tuple). Strings that parse
as the expected type under YAML rules are accepted, because Snakemake's
``--config 'methods={m: {params: {epochs: 2}}}'`` hands nested values over as strings.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping, TypeVar

import numpy as np
import yaml

from vadflow.errors import ConfigError

P = TypeVar("P")

#: counts every method that has them needs at least 1 of: checked with the config, so that `epochs: 0` or
#: `batch_size: -3` fails before any job runs (a method's own __post_init__ checks what is particular to it)
AT_LEAST_ONE = frozenset({
    "epochs", "iterations", "dictionary_iterations", "pretrain_epochs", "alternate_epochs", "batch_size",
    "score_batch_size", "clip_step", "seq_len", "log_every", "K", "segments", "clips", "kmeans_clips",
    "train_step", "train_stride", "chunk",
})
#: rates that cannot be negative (0 is allowed: a part held fixed, as Chang et al.'s centres in a test)
NOT_NEGATIVE = frozenset({"lr", "lr_decayed", "centre_lr", "weight_decay", "beta", "lam", "lam1", "lam2",
                          "adversarial_weight", "lambda_cls", "lambda_score", "lambda_smooth", "lambda_sparse"})


def check_range(key: str, value: Any, where: str) -> None:
    """The ranges of ``AT_LEAST_ONE`` and ``NOT_NEGATIVE``, for any dataclass that has these fields."""
    if key in AT_LEAST_ONE and isinstance(value, int) and not isinstance(value, bool) and value < 1:
        raise ConfigError(f"{where}.{key} must be at least 1, got {value}", f"give {where}.{key} a positive count")
    if key in NOT_NEGATIVE and isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        raise ConfigError(f"{where}.{key} must not be negative, got {value}", f"give {where}.{key} a value >= 0")


def _default_of(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return None


def _type_ok(default: Any, value: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and (
            math.isfinite(float(value))
        )
    if isinstance(default, int):
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if isinstance(default, tuple):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(default))


def coerce(key: str, value: Any, default: Any, where: str) -> Any:
    """``value`` checked against the type of ``default`` (strings from the command line parsed)."""
    if default is None:
        return value
    if isinstance(value, str) and not isinstance(default, str):
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError:
            pass
    if not _type_ok(default, value):
        raise ConfigError(
            f"{where}.{key}: expected {type(default).__name__}, got {type(value).__name__} ({value!r})",
            f"give {where}.{key} a value like {default!r}",
        )
    if isinstance(default, float):
        return float(value)
    if isinstance(default, int) and not isinstance(default, bool):
        return int(value)
    if isinstance(default, tuple):
        if default and not isinstance(default[0], str):
            return tuple(coerce(f"{key}[{i}]", v, default[0], where) for i, v in enumerate(value))
        return tuple(value)
    return value


def params_from_dict(cls: type[P], d: Mapping[str, Any] | None, where: str = "params") -> P:
    """Build ``cls`` from ``d``, naming unknown keys and badly typed values (ranges: ``cls`` checks)."""
    d = {} if d is None else d
    if not isinstance(d, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {type(d).__name__}", "give key: value pairs")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(str(k) for k in d if k not in fields)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}", f"known keys: {', '.join(fields)}")
    kwargs = {k: coerce(k, v, _default_of(fields[k]), where) for k, v in d.items()}
    for k, v in kwargs.items():
        check_range(k, v, where)
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc.message}", exc.hint) from None
