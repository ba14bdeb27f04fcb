"""checkpoint list_videos: write a dataset's manifest."""

import _bootstrap  # noqa: F401

from vadflow.data.pipeline import list_videos
from vadflow.workflow import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    list_videos(
        sm.wildcards.dataset,
        sm.params.adapter,
        sm.input[0],
        sm.output[0],
        options=sm.params.options,
        split=sm.params.split,
        split_csv=sm.output[1],
    )
