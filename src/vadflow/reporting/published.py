"""The papers' published figures: one file per paper in ``vadflow/published/<paper>.yaml``, read by
the paper tables (config ``reports.<table>.published: <paper>/<table>``), so each figure is typed in
once, beside the table and row it comes from.

A table row of ours (a method entry) takes the figure of the published row whose ``method`` is that
entry; our dataset is looked up under its paper dataset name (``compare:``, e.g. walkway -> ped2 on
the embedded default; the same name otherwise). Published rows with no method of ours in the table
are the competitors: shown as published-only rows, with an empty ``ours``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from vadflow.errors import ConfigError


@dataclass(frozen=True)
class PublishedTable:
    paper: str
    ref: str
    caption: str
    rows: tuple[dict[str, Any], ...]

    def value(self, method: str, paper_dataset: str) -> Any:
        """The published figure of our method entry on a paper dataset, or None."""
        for row in self.rows:
            if row.get("method") == method and paper_dataset in row["values"]:
                return row["values"][paper_dataset]
        return None

    def has_field(self, field: str) -> bool:
        """Whether some cell publishes ``field`` (cells given as {field: figure})."""
        return any(isinstance(v, dict) and field in v for row in self.rows for v in row["values"].values())

    def others(self, methods: list[str], paper_datasets: list[str]) -> list[tuple[str, str, Any]]:
        """(row label, paper dataset, figure) of the published rows none of ``methods`` stands for."""
        return [
            (row["row"], d, row["values"][d])
            for row in self.rows
            if row.get("method") not in methods
            for d in paper_datasets
            if d in row["values"]
        ]


@lru_cache(maxsize=None)
def _paper(name: str) -> dict[str, Any]:
    path = resources.files("vadflow") / "published" / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.name.removesuffix(".yaml") for p in (resources.files("vadflow") / "published").iterdir()
                       if p.name.endswith(".yaml"))
        raise ConfigError(f"no published figures on file for paper {name!r}", f"use one of {', '.join(known)}")
    return yaml.safe_load(path.read_text())


def published_table(ref: str) -> PublishedTable:
    """``<paper>/<table>``, e.g. ``srnn/table3``."""
    paper, _, table = ref.partition("/")
    data = _paper(paper)
    if table not in data["tables"]:
        raise ConfigError(
            f"published {ref!r}: the paper file has no table {table!r}", f"use one of {', '.join(data['tables'])}"
        )
    t = data["tables"][table]
    return PublishedTable(paper=data["paper"], ref=ref, caption=t["caption"], rows=tuple(t["rows"]))


def fidelity_block(paper: str) -> dict[str, Any] | None:
    """A paper's ``fidelity:`` block (headline entries, the tables of their figures, the measured cause)."""
    return _paper(paper).get("fidelity")


def published_file(ref: str) -> str:
    """The file a table's published figures come from (a workflow input: edits rebuild the table)."""
    return str(resources.files("vadflow") / "published" / f"{ref.partition('/')[0]}.yaml")
