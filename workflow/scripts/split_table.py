"""rule report_<table> of kind splits: the videos each row trains and is tested on (Wan et al. Table 2)."""

import _bootstrap  # noqa: F401

from vadflow.reporting.tables import write_split_table
from vadflow.workflow import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    manifests = dict(zip(sm.params.spec["datasets"], sm.input.manifests))
    write_split_table(manifests, sm.params.spec, sm.params.regimes, sm.params.datasets, sm.output.csv, sm.output.md)
