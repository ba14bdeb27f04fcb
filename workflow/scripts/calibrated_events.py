"""rule calibrated_events: the event rule on the model's calibrated scale (vadflow.evaluation.results)."""

import _bootstrap  # noqa: F401

from vadflow.evaluation.results import calibrated_events
from vadflow.workflow import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    calibrated_events(sm.input.scores, list(sm.params.stores), sm.input.calibration, sm.output[0],
                      dataset=sm.wildcards.dataset, events=sm.params.events)
