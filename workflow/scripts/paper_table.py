"""rule report_<table>: a paper's table with the published figures beside ours."""

import _bootstrap  # noqa: F401

from vadflow.reporting.tables import write_paper_table
from vadflow.workflow import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    write_paper_table(
        list(sm.input.results), sm.params.spec, sm.params.datasets, sm.params.convention, sm.output.csv, sm.output.md,
        seed_paths=list(sm.input.seeds), calibrated_paths=list(sm.input.calibrated),
    )
