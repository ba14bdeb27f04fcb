"""rule decode: the videos of one shard -> one Zarr frame store each."""

import _bootstrap  # noqa: F401

from vadflow.data.pipeline import decode_shard
from vadflow.workflow import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    decode_shard(sm.input.manifest, sm.wildcards.split, sm.params.videos, sm.params.stores, sm.output[0],
                 sm.params.decode)
