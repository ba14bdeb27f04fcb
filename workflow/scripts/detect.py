"""rule detect_videos: one trained model over the `detect:` videos (vadflow.detect.detect)."""

import _bootstrap  # noqa: F401

from vadflow.detect import detect
from vadflow.workflow import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    cfg = sm.params.detect
    detect(sm.input.model, [cfg["videos"]], sm.params.out, threshold=cfg.get("threshold"),
           calibration=sm.input.calibration, device=sm.params.device, threads=sm.threads,
           overlay=cfg.get("overlay", True))
