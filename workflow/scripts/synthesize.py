"""rule synthesize: render and encode a synthetic dataset."""

import _bootstrap  # noqa: F401

from vadflow.data.synthetic_dataset import build_synthetic_dataset
from vadflow.workflow import logged

ds = snakemake.params.dataset  # noqa: F821 (injected by Snakemake)
with logged(snakemake.log[0]):  # noqa: F821
    build_synthetic_dataset(
        ds["generator"],
        ds.get("params", {}),
        snakemake.output[0],  # noqa: F821
        seed=snakemake.params.seed,  # noqa: F821
        fps=ds.get("fps", 10.0),
        color=ds.get("color", "rgb"),
    )
