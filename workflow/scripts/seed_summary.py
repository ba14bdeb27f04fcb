"""rule seed_summary: every seed's figures of one entry on one dataset, their mean and spread."""

import _bootstrap  # noqa: F401

from vadflow.evaluation.results import seed_summary
from vadflow.reporting.cells import load_results
from vadflow.workflow import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    seed_summary(load_results(list(sm.input)), sm.output[0])
