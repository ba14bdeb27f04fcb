"""rule report_settings: the run's configuration as an HTML page (vadflow.reporting.html)."""

import _bootstrap  # noqa: F401

from vadflow.reporting.html import write_settings
from vadflow.workflow import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    write_settings(sm.output[0], dict(sm.params.config))
