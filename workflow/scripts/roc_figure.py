"""rule roc_figure: ROC curves of every method on one dataset, as a figure and as data (for `dvc plots`)."""

import _bootstrap  # noqa: F401

from vadflow.reporting.figures import plot_roc, write_roc_csv
from vadflow.reporting.cells import load_results
from vadflow.workflow import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    results = load_results(list(sm.input))
    plot_roc(results, sm.wildcards.dataset, sm.output.png)
    write_roc_csv(results, sm.output.csv)
