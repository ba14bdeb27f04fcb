"""rule roc_figure: ROC curves of every method on one dataset."""

import _bootstrap  # noqa: F401

from vadflow.reporting.figures import plot_roc
from vadflow.reporting.tables import load_results
from vadflow.workflow import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    plot_roc(load_results(list(sm.input)), sm.wildcards.dataset, sm.output[0])
