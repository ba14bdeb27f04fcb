"""rule table3: the frame-AUC table of every method on every dataset."""

import _bootstrap  # noqa: F401

from vadflow.reporting.tables import write_table3
from vadflow.workflow import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    write_table3(
        list(sm.input.results),
        sm.params.datasets,
        sm.params.methods,
        sm.params.convention,
        sm.output.csv,
        sm.output.md,
        use=sm.params.use,
        seed_paths=list(sm.input.seeds),
    )
