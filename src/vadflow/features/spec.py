"""Feature specs: what a feature store holds, and the name it is stored under.

A spec is an entry under ``features:`` in config. Its store path carries a name
derived from the spec's content (``<key>-<hash>``), so changing a parameter
changes the path: only what depends on that spec is recomputed, and two methods
that ask for the same spec share one computation.

Kinds:
  frame          backbone feature map of every frame (optionally spatial-pyramid pooled); with
                 ``source: <flow spec>`` of every optical-flow image instead (x, y, magnitude as
                 three channels), sRNN-AE's optical-flow temporal stream (Luo et al. Tables 7-8)
  dynamic_image  AnomalyNet's motion fusion: a dynamic image per window of frames, through a backbone
                 (``backbone: none``: the image's own pixels, resized to ``raw_size`` rows, as one vector:
                 AnomalyNet's SC2Net+MFB ablation without the feature transfer block, Table 7)
  temporal_max   sRNN-AE's temporal stream: element-wise max of a frame spec over consecutive frames
  flow           dense optical flow between consecutive frames (OpenCV)
  i3d            I3D clip features (RGB frames, or a flow spec for the flow stream)
  raw            the frame's pixel intensities in [0, 1] as one vector (sRNN-AE on moving digits, sec. 4.2)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from vadflow.errors import ConfigError
from vadflow.params import params_from_dict

KINDS = ("frame", "dynamic_image", "temporal_max", "flow", "i3d", "raw")
POOLINGS = ("spp", "global", "none")
CPU_KINDS = ("flow", "temporal_max", "raw")
#: backbones that ship no weights: they read a checkpoint the user has (``weights:``); the registry in
#: ``vadflow.features.backbones`` agrees (tested), this copy keeps config checks free of torch
USER_CHECKPOINT_BACKBONES = ("resnet50", "resnet152", "vgg16", "alexnet")

#: the fields each kind depends on (the rest are ignored, and do not change its path)
RELEVANT = {
    "frame": ("backbone", "weights", "input_size", "pooling", "pyramid_levels", "source", "dtype"),
    "dynamic_image": (
        "backbone", "weights", "input_size", "pooling", "pyramid_levels", "window", "stride", "sqrt", "raw_size", "dtype",
    ),
    "temporal_max": ("source", "window", "interval", "dtype"),
    "flow": ("flow_method", "flow_size", "dtype"),
    "i3d": ("stream", "source", "weights", "input_size", "window", "stride", "dtype"),
    "raw": ("raw_size", "dtype"),
}
DEFAULT_WINDOW = {"dynamic_image": 20, "temporal_max": 4, "i3d": 16}
DEFAULT_STRIDE = {"dynamic_image": 10, "i3d": 16}


@dataclass(frozen=True)
class FeatureSpec:
    kind: str = "frame"
    backbone: str = "efficientnet_lite0"
    weights: str | None = None  # a checkpoint path; None = the backbone's shipped weights (if any)
    input_size: int = 224
    pooling: str = "spp"  # spp: one vector per pyramid cell (21 for 1x1+2x2+4x4); global: one; none: the map
    pyramid_levels: tuple = (1, 2, 4)
    window: int = 0  # 0 = the kind's default: dynamic_image 20 (AnomalyNet), temporal_max 4 (sRNN-AE), i3d 16
    stride: int = 0  # 0 = the kind's default: dynamic_image 10, i3d 16
    sqrt: bool = True  # dynamic images: square-rooted time-varying mean (AnomalyNet)
    interval: int = 1  # temporal_max: frames between the pooled frames
    source: str | None = None  # temporal_max: the frame spec pooled; i3d flow stream / frame: a flow spec
    stream: str = "rgb"  # i3d: rgb or flow
    flow_method: str = "farneback"
    flow_size: int | None = None  # flow: compute at this height (keeping aspect), None = the store's size
    raw_size: int | None = None  # raw, dynamic_image without backbone: resize to this height (keeping aspect), None = as stored
    dtype: str = "float16"
    batch_size: int = 32  # frames per forward pass (no effect on the values, so not part of the name)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"feature kind {self.kind!r} is not known", f"use one of {', '.join(KINDS)}")
        if self.pooling not in POOLINGS:
            raise ConfigError(f"pooling {self.pooling!r} is not known", f"use one of {', '.join(POOLINGS)}")
        if self.dtype not in ("float16", "float32"):
            raise ConfigError(f"dtype {self.dtype!r} is not supported", "use float16 or float32")
        if self.stream not in ("rgb", "flow"):
            raise ConfigError(f"stream {self.stream!r} is not known", "use rgb or flow")
        if self.kind == "temporal_max" and not self.source:
            raise ConfigError("a temporal_max feature needs `source`, the frame feature it pools", "set source: <spec>")
        if self.kind == "i3d" and self.stream == "flow" and not self.source:
            raise ConfigError("the i3d flow stream needs `source`, a flow feature spec", "set source: <flow spec>")
        if self.backbone == "none" and self.kind != "dynamic_image":
            raise ConfigError("backbone: none (pixels, no CNN) is for dynamic_image features only", "use kind: raw for frames")
        if not self.window:
            object.__setattr__(self, "window", DEFAULT_WINDOW.get(self.kind, 0))
        if not self.stride:
            object.__setattr__(self, "stride", DEFAULT_STRIDE.get(self.kind, 0))

    @property
    def cpu_only(self) -> bool:
        """No backbone: flow, temporal max pooling and raw pixels need no GPU (and no torch)."""
        return self.kind in CPU_KINDS or self.backbone == "none"

    @property
    def reads_features(self) -> bool:
        """Computed from another spec's feature store (its ``source``) rather than from the frames."""
        return bool(self.source) and (self.kind != "i3d" or self.stream == "flow")

    def relevant(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        return {"kind": self.kind, **{k: (list(d[k]) if isinstance(d[k], tuple) else d[k]) for k in RELEVANT[self.kind]}}


def feature_spec(cfg: dict[str, Any], key: str) -> FeatureSpec:
    specs = cfg.get("features", {})
    if key not in specs:
        raise ConfigError(f"feature spec {key!r} is not configured", f"configured: {', '.join(specs) or 'none'}")
    spec = params_from_dict(FeatureSpec, specs[key], where=f"features.{key}")
    for dep in (spec.source,):
        if dep is not None and dep not in specs:
            raise ConfigError(f"features.{key}.source names {dep!r}, which is not configured", "add it under features")
    return spec


def spec_id(cfg: dict[str, Any], key: str, _seen: tuple[str, ...] = ()) -> str:
    """``<key>-<8 hex>``: the hash covers the spec's relevant fields and, recursively, its source's id."""
    if key in _seen:
        raise ConfigError(f"features.{key}: source chain loops: {' -> '.join(_seen + (key,))}", "break the loop")
    spec = feature_spec(cfg, key)
    material = spec.relevant()
    if spec.source:
        material["source"] = spec_id(cfg, spec.source, _seen + (key,))
    digest = hashlib.sha1(json.dumps(material, sort_keys=True).encode()).hexdigest()[:8]
    return f"{key}-{digest}"


def key_of(feature_id: str) -> str:
    """The config key of a ``<key>-<hash>`` name."""
    return feature_id.rsplit("-", 1)[0]


def check_features(cfg: dict[str, Any]) -> None:
    for key in cfg.get("features", {}):
        spec_id(cfg, key)
