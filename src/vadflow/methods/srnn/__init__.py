"""Luo et al., "Video Anomaly Detection With Sparse Coding Inspired Deep Neural Networks"
(TPAMI 2021; ICCV 2017 "A revisit of sparse coding based anomaly detection in stacked RNN
framework"): temporally-coherent sparse coding (TSC) and the stacked RNN auto-encoder
(sRNN-AE) that unfolds its SISTA solver, as methods on pretrained features.

Each spatial-pyramid cell of a frame is a separate sequence over time (temporal coherence
only between the same cell of consecutive frames) and all cells share one dictionary; a
frame's anomaly score is the largest reconstruction error of its cells. Features are
l2-normalised per vector (the paper does so for raw intensities on moving digits).

Files: ``sparse_coding`` (the mathematics: SISTA, the TSC dictionary, the sRNN-AE network
and loss), ``tsc`` and ``srnn_ae`` (the methods). The late fusion of Tables 7-9 is
``vadflow.fusion``; the temporal max pooling of the temporal stream is a feature kind
(``temporal_max``). Luo et al.'s baselines are in ``methods.baselines`` and
``methods.conv_ae`` / ``methods.convlstm_ae``.
"""

from __future__ import annotations

from dataclasses import dataclass

from vadflow.errors import ConfigError
from vadflow.methods.api import InputSpec, MethodInfo, Supervision

#: λ1 in the Algorithm-1 convention (threshold λ1/γ); value of the authors' release
DEFAULT_LAM1 = 0.1
#: the paper's λ2
DEFAULT_LAM2 = 2.0
#: δ² of the Gaussian similarity
DEFAULT_DELTA2 = 100.0
#: SISTA iterations for TSC / layers of the sRNN-AE
TSC_K = 30
SRNN_K = 3
#: weight decay β of the sRNN-AE loss
DEFAULT_BETA = 0.005
#: hidden width of the learned similarity φ (the release's ``n_gw``)
DEFAULT_SIM_HIDDEN = (512,)
#: γ is clamped to at least this in the sRNN-AE so U = I − AᵀA/γ cannot blow up
GAMMA_MIN = 1e-6


@dataclass
class TSCParams:
    n_atoms: int = 2048
    lam1: float = DEFAULT_LAM1
    lam2: float = DEFAULT_LAM2
    K: int = TSC_K
    dictionary_iterations: int = 20
    seq_len: int = 10
    l2_normalise: bool = True


@dataclass
class SRNNParams:
    n_atoms: int = 2048
    K: int = SRNN_K
    lam1: float = DEFAULT_LAM1
    lam2: float = DEFAULT_LAM2
    similarity: str = "gaussian"  # or "learned": S = phi(x_t)' phi(x_t-1), phi a ReLU MLP
    iterations: int = 20_000
    lr: float = 1e-5
    batch_size: int = 4
    seq_len: int = 10
    beta: float = DEFAULT_BETA
    l2_normalise: bool = True
    log_every: int = 100
    #: keep the model every this many iterations (the authors' release: 1000) and score the test
    #: videos with each, only to measure what picking the best on test labels would add (their
    #: evaluation script does); the result is always the last iteration. Scoring then runs every
    #: snapshot too, so the recorded frames/s (Table 10) is only meaningful with 0: off
    snapshot_every: int = 0

    def __post_init__(self) -> None:
        if self.snapshot_every < 0:
            raise ConfigError("srnn_ae: snapshot_every must be >= 0", "0 turns snapshots off, e.g. 1000")
        if self.similarity not in ("gaussian", "learned"):
            raise ConfigError(f"srnn_ae: similarity {self.similarity!r} is not known", "use gaussian or learned")
        if self.K < 1:
            raise ConfigError("srnn_ae: K (the number of layers) must be >= 1", "e.g. K: 3")


#: why the sparse coders stay in 32-bit (MethodInfo.fp32_only)
_FP32 = ("its SISTA layers apply I − AᵀA/γ, whose diagonal (≈ 1 − 1e-3) bfloat16 rounds to 1 and float16 nearly "
         "so, which changes the codes; the whole network is these layers, so mixed precision would buy nothing")

_RESOURCES = {"mem_mb": 16000, "runtime": 360, "threads": 2, "gpu": 1}

METHODS = [
    MethodInfo(
        name="tsc",
        label="TSC [Luo et al.]",
        Params=TSCParams,
        implementation="vadflow.methods.srnn.tsc:TSC",
        supervision=Supervision.UNSUPERVISED,
        default_input=InputSpec(features=()),
        resources=_RESOURCES,
        paper="Luo et al. TPAMI 2021, sec. 3 (TSC, SISTA with K = 30)",
        fp32_only=_FP32,
        single_process="each dictionary iteration codes every training sequence: there is no batch to share",
    ),
    MethodInfo(
        name="srnn_ae",
        label="sRNN-AE [Luo et al.]",
        Params=SRNNParams,
        implementation="vadflow.methods.srnn.srnn_ae:SRNNAEMethod",
        supervision=Supervision.UNSUPERVISED,
        default_input=InputSpec(features=()),
        resources=_RESOURCES,
        paper="Luo et al. TPAMI 2021, sec. 3.4 (sRNN-AE, K = 3)",
        fp32_only=_FP32,
    ),
]
