"""Zhou et al., "AnomalyNet: An anomaly detection network for video surveillance" (TIFS 2019;
issue 14): dynamic images (motion fusion block) through a pretrained CNN (feature transfer block),
pyramid cells coded by SC2Net, the sparse LSTM (SLSTM), trained end to end on eq. 17.

Files: ``method`` (the video method ``anomalynet``; its ablations are config entries: ``solver``
ista / lista / lfista for Table 7, the feature specs for the blocks and backbones, ``lam`` and the
dynamic-image window for Table 9) and ``coherence`` (the synthetic mutual-coherence study of
Tables 1-2). The unrolled solvers themselves (ISTA, LISTA, LFISTA, SLSTM) are shared by the project
in ``vadflow.methods.nn.unrolled``; dynamic images are a feature kind (``dynamic_image``).
"""

from __future__ import annotations

from dataclasses import dataclass

from vadflow.errors import ConfigError
from vadflow.methods.api import InputSpec, MethodInfo, Supervision

#: the coding blocks of Table 7 (``vadflow.methods.nn.unrolled.SOLVERS``; named here without torch)
SOLVER_NAMES = ("slstm", "ista", "lista", "lfista")
#: Zeiler's AdaDelta constants (the "default AdaDelta" of sec. 5.4)
ADADELTA_RHO = 0.95
ADADELTA_EPS = 1e-6


@dataclass
class AnomalyNetParams:
    solver: str = "slstm"  # slstm (SC2Net) | ista | lista | lfista: Table 7's coding blocks
    lam: float = 0.1  # λ of eq. 17 (sec. 5.4, Table 9)
    n_atoms: int = 0  # d_s; 0 = d_x (the paper's square 2048 x 2048 dictionary)
    K: int = 5  # unrolled steps (not given in the paper)
    epochs: int = 50  # sec. 5.4: at most 50
    batch_size: int = 10  # units per batch, each with all its cells: 10 x 21 = the paper's 210 samples
    lr: float = 0.1  # AdaDelta's learning rate: 1.0 (Zeiler, Keras) diverges on a square dictionary (docs/papers/anomalynet.md)
    l2_normalise: bool = True
    train_step: int = 1  # train on every n-th unit of each video (CPU time); 1 = all
    score_batch_size: int = 64

    def __post_init__(self) -> None:
        if self.solver not in SOLVER_NAMES:
            raise ConfigError(f"anomalynet: solver {self.solver!r} is not known", f"use one of {', '.join(SOLVER_NAMES)}")
        if self.K < 1:
            raise ConfigError("anomalynet: K (unrolled steps) must be >= 1", "e.g. K: 5")
        if self.n_atoms < 0 or self.train_step < 1 or self.batch_size < 1:
            raise ConfigError("anomalynet: n_atoms must be >= 0, train_step and batch_size >= 1", "e.g. n_atoms: 0")
        if self.lam < 0:
            raise ConfigError("anomalynet: lam (the sparsity weight of eq. 17) must be >= 0", "the paper: 0.1")



METHODS = [
    MethodInfo(
        name="anomalynet",
        label="AnomalyNet [Zhou et al.]",
        Params=AnomalyNetParams,
        implementation="vadflow.methods.anomalynet.method:AnomalyNetMethod",
        supervision=Supervision.UNSUPERVISED,
        default_input=InputSpec(features=()),
        resources={"mem_mb": 16000, "runtime": 360, "threads": 2, "gpu": 1},
        paper="Zhou et al. TIFS 2019 (MFB dynamic images, FTB CNN features, SC2Net coding, eq. 17 / 21)",
        fp32_only="its unrolled solvers apply W_e = I − BᵀB/L (ISTA's values at the start), whose diagonal near 1 "
                  "bfloat16 rounds to 1, which changes the codes; the network is these layers, so mixed precision "
                  "would buy nothing",
    ),
]
