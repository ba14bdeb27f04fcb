"""rule decode: one video -> one Zarr frame store."""

import _bootstrap  # noqa: F401

from vadflow.data.pipeline import decode_manifest_entry
from vadflow.workflow import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    decode_manifest_entry(sm.input.manifest, sm.wildcards.split, sm.wildcards.video, sm.output[0], sm.params.decode)
