"""Adapters for the published layouts of the benchmark datasets; each registers itself by name.

An adapter is ``fn(dataset: str, root: Path, **options) -> Manifest`` (see vadflow.data.layout).
"""

from vadflow.data.adapters import avenue, lad, shanghaitech, subway, ucf_crime, ucsd, umn  # noqa: F401,E402
