"""Reading results for tables and figures: which result a table cell shows, and a field of it. The floor
below ``reporting.tables`` and ``reporting.figures``, which both read cells (neither imports the other for it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Sequence

from vadflow.config import cell_method


def load_results(paths: Sequence[str | Path]) -> list[dict[str, Any]]:
    return [json.loads(Path(p).read_text()) for p in paths]


def cell_lookup(
    results: Sequence[dict[str, Any]], use: dict[str, dict[str, str]] | None = None
) -> Callable[[str, str], dict[str, Any] | None]:
    """(dataset, row) -> the result of that cell: the row's own entry, or the one ``use`` swaps in."""
    by_key = {(r["dataset"], r["method"]): r for r in results}
    return lambda d, row: by_key.get((d, cell_method(use, d, row)))


def result_field(result: dict[str, Any] | None, path: str) -> Any:
    """A dotted path into a results JSON (``auc``, ``params.K``, ``method_stats.code_sparsity``)."""
    value: Any = result
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def metric_value(result: dict[str, Any] | None, path: str, convention: str) -> Any:
    """``auc`` is the frame AUC in the table's convention, and ``eer`` the EER of that convention's ROC
    (``eer_raw`` in a raw-micro table such as Wan et al.'s); any other path is read as it is."""
    if path == "auc":
        return result["frame_auc"].get(convention) if result else None
    if path == "eer" and convention == "raw_micro":
        return result_field(result, "eer_raw")
    return result_field(result, path)
