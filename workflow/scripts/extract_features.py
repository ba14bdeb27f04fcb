"""rule extract_features: one feature spec of the videos of one shard."""

import _bootstrap  # noqa: F401

from vadflow.features.extract import extract_shard
from vadflow.features.spec import FeatureSpec
from vadflow.workflow import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    spec = FeatureSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in sm.params.spec.items()})
    extract_shard(spec, sm.wildcards.feature, sm.params.sources, sm.params.stores, sm.output[0],
                  device=sm.params.device, threads=sm.threads)
