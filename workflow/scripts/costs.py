"""rule report_costs: wall time and memory per rule, from logs/benchmarks."""

import _bootstrap  # noqa: F401

from vadflow.reporting.costs import write_costs
from vadflow.workflow import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    write_costs(sm.params.root, sm.output.csv, sm.output.md)
