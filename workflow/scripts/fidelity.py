"""rule fidelity: our figures on real data beside the papers', the gap, the scale, the floor, the cause."""

import _bootstrap  # noqa: F401

from vadflow.reporting.fidelity import write_fidelity
from vadflow.workflow import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    write_fidelity(sm.config, "results", sm.output.md)
