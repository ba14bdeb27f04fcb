"""rule evaluate: metrics of one method on one dataset."""

import _bootstrap  # noqa: F401

from vadflow.evaluation.results import evaluate
from vadflow.workflow import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    evaluate(
        sm.input.scores,
        list(sm.params.stores),
        sm.output[0],
        dataset=sm.wildcards.dataset,
        convention=sm.params.evaluation["convention"],
        pixel_coverage=sm.params.evaluation["pixel_coverage"],
        events=sm.params.evaluation.get("events"),
        regions=sm.params.evaluation.get("regions"),
        bootstrap=sm.params.evaluation.get("bootstrap"),
        split=sm.params.split,
    )
