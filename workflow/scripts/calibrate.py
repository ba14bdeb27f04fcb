"""rule calibrate: a model's scores on its normal training videos (vadflow.detect.calibrate)."""

import _bootstrap  # noqa: F401

from vadflow.detect import calibrate
from vadflow.workflow import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    calibrate(sm.input.model, list(sm.params.frames), sm.params.features, sm.output[0], device=sm.params.device,
              threads=sm.threads)
