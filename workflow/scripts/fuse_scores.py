"""rule fuse_scores: s = s_spatial + beta * s_temporal, per video, min-max normalised."""

import _bootstrap  # noqa: F401

from vadflow.fusion import fuse_scores
from vadflow.workflow import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    fuse_scores(sm.input.spatial, sm.input.temporal, sm.output[0], sm.params.method)
