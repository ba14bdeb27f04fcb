"""rule score: anomaly scores of every test frame."""

import _bootstrap  # noqa: F401

from vadflow.methods.run import score
from vadflow.workflow import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    score(
        sm.input.model,
        list(sm.params.stores),
        sm.output[0],
        features=sm.params.features,
        device=sm.params.device,
        threads=sm.threads,
    )
