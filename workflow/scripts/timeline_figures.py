"""rule timeline_figures: one score-over-time figure per test video."""

import _bootstrap  # noqa: F401

from vadflow.reporting.figures import plot_timelines
from vadflow.workflow import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    plot_timelines(list(sm.input.scores), list(sm.params.stores), sm.output[0])
