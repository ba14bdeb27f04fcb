"""Sun et al., "Adversarial 3D convolutional auto-encoder for abnormal event detection in videos"
(IEEE TMM 2021; issue 15): a denoising 3D convolutional auto-encoder with index-recording pooling and
location-restoring unpooling, trained against a 3D convolutional discriminator, on 16-frame gray
clips minus the training mean frame; a frame's anomaly score is its reconstruction error.

Files: ``model`` (the auto-encoder, its Table V ablations, the discriminator), ``method`` (training
by Algorithm 1 with two RMSprop optimisers, the noise types of Table VI, scoring). Ablations are
config entries; the event counts of Table X are the evaluation's persistence-1D rule
(``vadflow.evaluation.events``).
"""

from __future__ import annotations

from dataclasses import dataclass

from vadflow.errors import ConfigError
from vadflow.methods.api import InputSpec, MethodInfo, Supervision

NOISES = ("gaussian", "salt_pepper", "poisson", "none")


@dataclass
class Adv3DParams:
    channels: tuple = (64, 128, 256, 256, 512)  # Conv1..Conv5 (Fig. 2's widths are not in the text: C3D's)
    layers: int = 10  # 10, or 6 (Table VII: Conv4, Conv5 and their decoder twins removed)
    conv: str = "3d"  # 2d: frames stacked as channels (Table V, w/o 3D convolution)
    temporal_pooling: bool = True  # False: every pooling 1x2x2 (Table V, w/o 3D pooling)
    record_locations: bool = True  # False: unpool to the window's upper-left (Table V)
    noise: str = "gaussian"  # Table VI: gaussian | salt_pepper | poisson | none
    noise_sigma: float = 0.005  # sec. IV-C
    salt_pepper_fraction: float = 0.05  # "SNR 95 %": 5 % of the pixels set to black or white
    poisson_peak: float = 255.0  # photon count of a white pixel (8-bit frames)
    adversarial_weight: float = 0.001  # λ of eq. 9 (not given; docs/papers/adv3d.md); 0 = w/o GAN (Table V)
    disc_channels: tuple = (32, 64, 128)
    lr: float = 2e-4  # RMSprop, both networks (sec. IV-C)
    epochs: int = 10
    batch_size: int = 8
    temporal_strides: tuple = (1, 2, 3)  # Hasan et al.'s augmentation (sec. IV-C)
    clip_step: int = 1
    score_batch_size: int = 8

    def __post_init__(self) -> None:
        if self.noise not in NOISES:
            raise ConfigError(f"adv3d_cae: noise {self.noise!r} is not known", f"use one of {', '.join(NOISES)}")
        if self.layers not in (6, 10):
            raise ConfigError(f"adv3d_cae: layers must be 10 or 6, got {self.layers}", "use layers: 10 (Table VII: 6)")
        if self.conv not in ("3d", "2d"):
            raise ConfigError(f"adv3d_cae: conv {self.conv!r} is not known", "use 3d (or 2d, Table V)")
        if self.adversarial_weight < 0:
            raise ConfigError("adv3d_cae: adversarial_weight must be >= 0", "0 trains without the GAN")


METHODS = [
    MethodInfo(
        name="adv3d_cae",
        label="Adversarial 3D Conv-AE [Sun et al.]",
        Params=Adv3DParams,
        implementation="vadflow.methods.adv3d.method:Adv3DCAE",
        supervision=Supervision.UNSUPERVISED,
        default_input=InputSpec(color="gray", clip_length=16, height=224, width=224),
        resources={"mem_mb": 16000, "runtime": 720, "threads": 4, "gpu": 1},
        paper="Sun et al., IEEE TMM 2021 (3D conv AE, index unpooling, denoising, adversarial training)",
    )
]
