"""rule feature_index: list a spec's feature stores of a dataset."""

import _bootstrap  # noqa: F401

from vadflow.features.store import write_feature_index
from vadflow.workflow import logged

sm = snakemake  # noqa: F821 (injected by Snakemake)
with logged(sm.log[0]):
    write_feature_index(sm.params.spec_id, {"train": list(sm.params.train), "test": list(sm.params.test)}, sm.output[0])
