"""I3D (names, size, features, checkpoint loading) and the inflation of a 2D network."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from vadflow.errors import CheckpointError, ConfigError
from vadflow.features.i3d import (
    INFLATED_NOTE,
    InceptionI3d,
    InflatedEfficientNetLite0,
    TemporalConv2d,
    _ClipBatch,
    build_i3d,
    inflate_batchnorm2d,
    inflate_conv2d,
)


@pytest.fixture(scope="module")
def i3d() -> InceptionI3d:
    torch.manual_seed(0)
    return InceptionI3d().eval()


def test_i3d_parameter_names_follow_the_public_port(i3d):
    keys = set(i3d.state_dict())
    for key in [
        "Conv3d_1a_7x7.conv3d.weight",
        "Conv3d_1a_7x7.bn.running_var",
        "Conv3d_2b_1x1.bn.bias",
        "Conv3d_2c_3x3.conv3d.weight",
        "Mixed_3b.b0.conv3d.weight",
        "Mixed_3b.b1b.bn.running_mean",
        "Mixed_4f.b2b.conv3d.weight",
        "Mixed_5c.b3b.bn.weight",
        "logits.conv3d.weight",
        "logits.conv3d.bias",
    ]:
        assert key in keys, key
    assert not any(k.startswith("logits.bn") or "MaxPool" in k or ".b3a." in k for k in keys)
    assert tuple(i3d.state_dict()["Conv3d_1a_7x7.conv3d.weight"].shape) == (64, 3, 7, 7, 7)
    assert tuple(i3d.state_dict()["logits.conv3d.weight"].shape) == (400, 1024, 1, 1, 1)
    assert len(keys) == 344  # 57 conv+BN units x 6 entries, plus the logits' weight and bias
    n_params = sum(p.numel() for p in i3d.parameters())
    assert n_params == 12_697_264
    # the 1024-d feature network without the 400-way classifier: ~12.3M
    assert n_params - (1024 * 400 + 400) == 12_287_264
    assert i3d.Conv3d_1a_7x7.bn.eps == 1e-3 and i3d.Conv3d_1a_7x7.bn.momentum == 0.01
    assert i3d.Mixed_3b.b0.conv3d.bias is None


def test_i3d_features_shape(i3d):
    with torch.no_grad():
        features = i3d.extract_features(torch.rand(2, 3, 16, 112, 112) * 2 - 1)
    assert features.shape == (2, 1024) and i3d.out_dim == 1024
    assert torch.isfinite(features).all()


def test_i3d_checkpoint_round_trip(i3d, tmp_path):
    path = tmp_path / "rgb_test.pt"
    torch.save(i3d.state_dict(), path)
    model, info = build_i3d("rgb", weights=str(path))
    assert info["kind"] == "i3d" and info["weights"] == str(path)
    assert not model.training and model.out_dim == 1024
    x = torch.rand(1, 3, 8, 64, 64) * 2 - 1
    with torch.no_grad():
        assert torch.equal(model.extract_features(x), i3d.extract_features(x))
    # the rgb checkpoint does not fit the 2-channel flow stream
    with pytest.raises(CheckpointError, match="input channels"):
        build_i3d("flow", weights=str(path))


def test_i3d_checkpoint_errors(i3d, tmp_path):
    with pytest.raises(CheckpointError, match="not found") as missing:
        build_i3d("rgb", weights=str(tmp_path / "absent.pt"))
    assert "absent.pt" in str(missing.value)

    state = dict(i3d.state_dict())
    state["Mixed_3b.branch0.conv3d.weight"] = state.pop("Mixed_3b.b0.conv3d.weight")
    bad = tmp_path / "renamed.pt"
    torch.save(state, bad)
    with pytest.raises(CheckpointError) as wrong:
        build_i3d("rgb", weights=str(bad))
    message = str(wrong.value)
    assert "renamed.pt" in message
    assert "missing" in message and "Mixed_3b.b0.conv3d.weight" in message
    assert "unexpected" in message and "Mixed_3b.branch0.conv3d.weight" in message

    with pytest.raises(ConfigError):
        build_i3d("depth")


# ---------------------------------------------------------------- inflation


class SamePadConv2d(nn.Conv2d):
    """A conv with its own padding logic in forward (like TF-'same' EfficientNet ports)."""

    def forward(self, x):
        pad_h = max((-(-x.shape[-2] // self.stride[0]) - 1) * self.stride[0] + self.kernel_size[0] - x.shape[-2], 0)
        pad_w = max((-(-x.shape[-1] // self.stride[1]) - 1) * self.stride[1] + self.kernel_size[1] - x.shape[-1], 0)
        x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class TinyBlock(nn.Module):
    """Inverted residual block named like EfficientNet's (expand, depthwise, project)."""

    def __init__(self, cin: int, cout: int, expand: int, stride: int):
        super().__init__()
        mid = cin * expand
        self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False) if expand != 1 else None
        self._bn0 = nn.BatchNorm2d(mid) if expand != 1 else None
        self._depthwise_conv = nn.Conv2d(mid, mid, 3, stride, padding=1, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout)
        self.skip = stride == 1 and cin == cout

    def forward(self, x):
        out = x
        if self._expand_conv is not None:
            out = F.relu6(self._bn0(self._expand_conv(out)))
        out = F.relu6(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        return out + x if self.skip else out


class TinyLite(nn.Module):
    """A stand-in for EfficientNet-Lite0: same module names, tiny widths."""

    def __init__(self):
        super().__init__()
        self._conv_stem = SamePadConv2d(3, 8, 3, stride=2, bias=True)
        self._bn0 = nn.BatchNorm2d(8)
        self._blocks = nn.ModuleList([TinyBlock(8, 8, 1, 1), TinyBlock(8, 12, 4, 2), TinyBlock(12, 12, 4, 1)])
        self._conv_head = nn.Conv2d(12, 16, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(16)
        self._fc = nn.Linear(16, 5)

    def features(self, x):
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return F.relu6(self._bn1(self._conv_head(x))).mean(dim=(2, 3))

    def forward(self, x):
        return self._fc(self.features(x))


def make_tiny_lite() -> TinyLite:
    torch.manual_seed(1)
    net = TinyLite()
    for m in net.modules():  # non-trivial BatchNorm statistics
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.1, 0.2)
    return net.eval()


def test_inflate_conv_and_batchnorm_on_a_static_clip():
    torch.manual_seed(2)
    conv2d = nn.Conv2d(3, 4, 3, stride=2, padding=1)
    conv3d = inflate_conv2d(conv2d, time_kernel=3)
    assert tuple(conv3d.weight.shape) == (4, 3, 3, 3, 3) and conv3d.stride == (1, 2, 2)
    frame = torch.randn(1, 3, 10, 10)
    clip = frame[:, :, None].repeat(1, 1, 5, 1, 1)
    out = conv3d(clip)
    for t in range(1, 4):  # frames away from the zero temporal padding
        torch.testing.assert_close(out[:, :, t], conv2d(frame))
    bn2d = nn.BatchNorm2d(4).eval()
    bn2d.running_mean.uniform_(-1, 1)
    bn3d = inflate_batchnorm2d(bn2d).eval()
    x = torch.randn(2, 4, 3, 5, 5)
    torch.testing.assert_close(bn3d(x)[:, :, 1], bn2d(x[:, :, 1]))


def test_temporal_conv_equals_inflated_conv3d_inside_the_clip():
    torch.manual_seed(3)
    conv2d = nn.Conv2d(6, 6, 3, padding=1, groups=6, bias=True)
    conv3d = inflate_conv2d(conv2d, time_kernel=3)
    with torch.no_grad():  # distinct temporal slices, so the check is not only about a box filter
        conv3d.weight.normal_()
    clip_batch = _ClipBatch()
    clip_batch.size = 2
    temporal = TemporalConv2d(conv2d, 3, 1, clip_batch)
    with torch.no_grad():
        temporal.weight.copy_(conv3d.weight)
    clip = torch.randn(2, 6, 7, 8, 8)
    expected = conv3d(clip)  # (B, C, T, H, W)
    got = temporal(clip.transpose(1, 2).flatten(0, 1)).reshape(2, 7, 6, 8, 8).transpose(1, 2)
    torch.testing.assert_close(got[:, :, 1:-1], expected[:, :, 1:-1])


def test_inflated_network_on_a_static_clip_equals_the_2d_network():
    net = make_tiny_lite()
    inflated = InflatedEfficientNetLite0(net).eval()
    assert inflated.out_dim == 16
    assert sum(isinstance(m, TemporalConv2d) for m in inflated.modules()) == 4  # stem + 3 depthwise
    assert tuple(inflated.state_dict()["backbone._conv_stem.weight"].shape) == (8, 3, 3, 3, 3)
    assert isinstance(net._conv_stem, SamePadConv2d)  # the 2D network itself is untouched
    frames = torch.rand(2, 3, 20, 20) * 2 - 1
    for T in (5, 6):
        clip = frames[:, :, None].repeat(1, 1, T, 1, 1)
        with torch.no_grad():
            torch.testing.assert_close(inflated.extract_features(clip), net.features(frames))
    # a moving clip mixes frames in time: not just the mean of per-frame features
    moving = torch.rand(1, 3, 6, 20, 20) * 2 - 1
    with torch.no_grad():
        per_frame = net.features(moving[0].transpose(0, 1)).mean(dim=0, keepdim=True)
        assert not torch.allclose(inflated.extract_features(moving), per_frame, atol=1e-4)


def test_build_i3d_default_inflates_the_2d_backbone():
    model, info = build_i3d("rgb", backbone2d_factory=make_tiny_lite)
    assert info["kind"] == "inflated_efficientnet_lite0" and info["note"] == INFLATED_NOTE
    assert "make_tiny_lite" in info["weights"]
    assert isinstance(model, InflatedEfficientNetLite0) and not model.training
    with torch.no_grad():
        assert model.extract_features(torch.rand(2, 3, 4, 16, 16)).shape == (2, model.out_dim)

    flow_model, flow_info = build_i3d("flow", backbone2d_factory=make_tiny_lite)
    stem = flow_model.state_dict()["backbone._conv_stem.weight"]
    rgb_stem = make_tiny_lite()._conv_stem.weight.detach()
    assert tuple(stem.shape) == (8, 2, 3, 3, 3)
    for c in range(2):
        for k in range(3):
            torch.testing.assert_close(stem[:, c, k], rgb_stem.mean(dim=1) / 3)
    with torch.no_grad():
        assert flow_model.extract_features(torch.rand(1, 2, 4, 16, 16) * 2 - 1).shape == (1, 16)
