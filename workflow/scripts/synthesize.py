"""rule synthesize: render and encode a synthetic dataset."""

import _bootstrap  # noqa: F401

from vadflow.data.synthetic_dataset import build_synthetic_dataset
from vadflow.workflow import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
spec = sm.params.synthetic
with logged(sm.log[0]):
    build_synthetic_dataset(
        spec["generator"], spec["params"], sm.output[0], seed=spec["seed"], fps=spec["fps"], color=spec["color"],
        lossless=spec.get("lossless", False),
    )
