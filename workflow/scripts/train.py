"""rule train: fit one configured method on a dataset's training stores."""

import _bootstrap  # noqa: F401

from vadflow.methods.run import train
from vadflow.workflow import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    train(
        sm.params.method,
        list(sm.params.frames),
        sm.output.model,
        sm.output.losses,
        features=sm.params.features,
        device=sm.params.device,
        threads=sm.threads,
    )
