"""Adapters for the published layouts of the benchmark datasets; each registers itself by name.

An adapter is ``fn(dataset: str, root: Path, **options) -> Manifest`` (see vadflow.data.layout).
"""
