"""Results tables: rows = methods (with supervision), columns = datasets, cells = AUC in %."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Sequence

from vadflow.atomic import atomic_path
from vadflow.evaluation.results import CONVENTIONS


def load_results(paths: Sequence[str | Path]) -> list[dict[str, Any]]:
    return [json.loads(Path(p).read_text()) for p in paths]


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.2f}"


def auc_table(
    results: Sequence[dict[str, Any]],
    datasets: Sequence[str],
    methods: Sequence[str],
    convention: str,
) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the frame-AUC table in the chosen convention."""
    by_key = {(r["dataset"], r["method"]): r for r in results}
    header = ["method", "supervision"] + list(datasets)
    rows = []
    for m in methods:
        first = next((by_key[(d, m)] for d in datasets if (d, m) in by_key), None)
        label = first["label"] if first else m
        sup = first["supervision"] if first else ""
        cells = [_pct(by_key[(d, m)]["frame_auc"][convention]) if (d, m) in by_key else "" for d in datasets]
        rows.append([label, sup] + cells)
    return header, rows


def write_table(
    header: list[str],
    rows: list[list[str]],
    csv_path: str | Path,
    md_path: str | Path | None,
    *,
    title: str,
    notes: Sequence[str] = (),
) -> None:
    with atomic_path(csv_path) as tmp:
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)
    if md_path is None:
        return
    lines = [f"# {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c or "–" for c in r) + " |" for r in rows]
    lines += [""] + [f"{n}" for n in notes]
    with atomic_path(md_path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def write_table3(
    result_paths: Sequence[str | Path],
    datasets: Sequence[str],
    methods: Sequence[str],
    convention: str,
    csv_path: str | Path,
    md_path: str | Path,
    dataset_notes: dict[str, str] | None = None,
) -> None:
    """The AUC comparison table every paper has (its Table 3 in Luo et al.)."""
    results = load_results(result_paths)
    header, rows = auc_table(results, datasets, methods, convention)
    notes = [
        f"Cells: {CONVENTIONS[convention]}, in %.",
        "Supervision: U = unsupervised (normal training videos only), W = weakly (video labels), F = fully (frame labels).",
        "Raw micro and macro AUC, EER and pixel-level AUC of every cell are in results/<dataset>/<method>.json.",
    ]
    for d, text in (dataset_notes or {}).items():
        notes.append(f"{d}: {text}")
    write_table(header, rows, csv_path, md_path, title="Frame-level AUC (%)", notes=[f"- {n}" for n in notes])


def computed_on(dataset_cfg: dict[str, Any], name: str) -> str:
    """What a row was computed on: the synthetic generator or the real dataset's adapter."""
    if dataset_cfg.get("description"):
        return dataset_cfg["description"]
    if dataset_cfg["adapter"] == "synthetic":
        variant = dataset_cfg.get("params", {}).get("variant")
        return f"synthetic {dataset_cfg['generator']}" + (f" ({variant})" if variant else "")
    return f"real: {name} ({dataset_cfg['adapter']} adapter)"


def write_paper_table(
    result_paths: Sequence[str | Path],
    spec: dict[str, Any],
    datasets_cfg: dict[str, Any],
    convention: str,
    csv_path: str | Path,
    md_path: str | Path,
) -> None:
    """A paper's table in long form: one row per (method, dataset), ours beside the published figure."""
    by_key = {(r["dataset"], r["method"]): r for r in load_results(result_paths)}
    paper = spec.get("paper", {})
    header = ["method", "supervision", "dataset", "computed_on", "auc", "paper"]
    rows = []
    for m in spec["methods"]:
        for d in spec["datasets"]:
            r = by_key.get((d, m))
            published = paper.get(m, {}).get(d)
            rows.append([
                r["label"] if r else m,
                r["supervision"] if r else "",
                d,
                computed_on(datasets_cfg[d], d),
                _pct(r["frame_auc"][convention]) if r else "",
                "" if published is None else f"{published:.2f}",
            ])
    notes = [
        f"- auc: {CONVENTIONS[convention]}, in %; paper: the figure the paper publishes for that cell "
        "(empty where it publishes none).",
        "- computed_on says which data each row ran on: on the embedded default, synthetic stand-ins;"
        " configure the real datasets to get the real rows.",
    ]
    write_table(header, rows, csv_path, md_path, title=spec["title"], notes=notes)
