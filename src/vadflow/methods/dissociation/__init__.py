"""Chang et al., "Video anomaly detection with spatio-temporal dissociation" (Elsevier
2021, presumably Pattern Recognition; issue 16): a spatial auto-encoder reconstructs a clip's first frame, a U-Net motion
auto-encoder predicts the RGB difference between its last and first frames from the first four,
variance attention in the motion encoder stresses fast motion, and a deep K-means term pulls the
concatenated bottlenecks towards K learnt centres. A clip's score combines the prediction error of
the last frame (FIF reconstruction + predicted difference) with the cluster distance (eq. 13).

Files: ``model`` (the networks, eq. 10's distance), ``method`` (the two training stages, K-means
initialisation, the alternation of sec. 4.2, scoring). Table 2's ablations are config entries
(``streams``, ``variance_attention``, ``clusters``); docs/papers/dissociation.md lists every choice
the paper leaves open.
"""

from __future__ import annotations

from dataclasses import dataclass

from vadflow.errors import ConfigError
from vadflow.methods.api import InputSpec, MethodInfo, Supervision

STREAMS = ("appearance", "motion")


@dataclass
class DissociationParams:
    streams: tuple = STREAMS  # Table 2: (appearance,), (motion,), or both
    variance_attention: bool = True  # sec. 3.4, in the motion encoder
    clusters: int = 32  # K of the deep K-means (sec. 4.4; Table 3); 0 = without it
    channels: tuple = (64, 128, 256)  # the three blocks' widths (Figs. 2, 4: 64x64x128, 32x32x256 at 256x256)
    alpha: float = 25.0  # eq. 10's soft-assignment sharpness ("a tunable hyper-parameter"; the authors' code: 25)
    cluster_weight: float = 0.1  # lambda_r of eq. 12 (not given; the authors' code: 0.1)
    gradient_weight: float = 1.0  # the gradient loss in eq. 6 (weight 1 as printed)
    pretrain_epochs: int = 50  # sec. 4.2: 50 (Ped2), 100 (Avenue, ShanghaiTech)
    alternate_epochs: int = 100  # sec. 4.2: 100 (Ped2), 200 (Avenue, ShanghaiTech)
    lr: float = 1e-4  # Adam, both stages
    lr_decayed: float = 1e-5  # "decrease it to 1e-5 at epoch 100" (of the alternation)
    lr_decay_epoch: int = 100
    centre_lr: float = 1e-5
    batch_size: int = 4  # not given (the authors' code: 4)
    clip_step: int = 1  # one training clip every clip_step frames
    kmeans_clips: int = 500  # training clips whose representations initialise the centres
    kmeans_samples: int = 20000  # of their locations, at most this many go to K-means
    score_batch_size: int = 8

    def __post_init__(self) -> None:
        self.streams = tuple(self.streams)
        if not self.streams or any(s not in STREAMS for s in self.streams) or len(set(self.streams)) != len(self.streams):
            raise ConfigError(f"dissociation_ae: streams {list(self.streams)} are not valid",
                              "use [appearance, motion], [appearance] or [motion]")
        if self.clusters < 0:
            raise ConfigError("dissociation_ae: clusters must be >= 0", "0 trains without the deep K-means")
        if self.clusters and len(self.streams) != 2:
            raise ConfigError("dissociation_ae: the deep K-means clusters both streams' representations",
                              "set clusters: 0 for a single stream")
        if self.variance_attention and "motion" not in self.streams:
            raise ConfigError("dissociation_ae: variance attention sits in the motion encoder",
                              "set variance_attention: false without the motion stream")
        if len(self.channels) != 3 or any(int(c) % 4 for c in self.channels):
            raise ConfigError(f"dissociation_ae: channels {list(self.channels)} must be three multiples of 4",
                              "the pixel-shuffle decoder divides widths by 4; e.g. channels: [64, 128, 256]")
        if self.pretrain_epochs < 1 or self.alternate_epochs < 1:
            raise ConfigError("dissociation_ae: pretrain_epochs and alternate_epochs must be >= 1", "e.g. 50 and 100")


METHODS = [
    MethodInfo(
        name="dissociation_ae",
        label="Spatio-temporal dissociation AE [Chang et al.]",
        Params=DissociationParams,
        implementation="vadflow.methods.dissociation.method:DissociationAE",
        supervision=Supervision.UNSUPERVISED,
        default_input=InputSpec(color="rgb", clip_length=5, height=256, width=256),
        resources={"mem_mb": 16000, "runtime": 720, "threads": 4, "gpu": 1},
        paper="Chang et al., Video anomaly detection with spatio-temporal dissociation (Elsevier, 2021)",
    )
]
