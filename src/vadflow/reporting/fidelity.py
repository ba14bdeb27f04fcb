"""The fidelity page (``reports/fidelity.md``): per paper, our figure on each *real* dataset of the run
beside the paper's, the gap, the scale it ran at, the parameter-free floor on the same data, and the
measured cause of the gap as the paper's docs give it. Generated from the run's results at every build,
so it stays current; the one typed part is each paper's ``fidelity`` block in ``published/<paper>.yaml``
(its headline entries, the tables that hold their figures, the cause in one sentence).

Rows come from the run's report tables: a table whose ``published:`` is one of a paper's fidelity tables
contributes its real datasets (adapter not synthetic) and the paper's headline entries among its rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vadflow.config import seed_runs, table_cells
from vadflow.methods.floor import FLOORS
from vadflow.reporting.cells import load_results
from vadflow.reporting.published import fidelity_block, published_table

PAPERS = ("srnn", "anomalynet", "adv3d", "dissociation", "lad")
#: the params that say how much a method was trained and at what size (shown as the row's scale)
SCALE_PARAMS = ("n_atoms", "channels", "hidden", "epochs", "pretrain_epochs", "alternate_epochs", "iterations",
                "dictionary_iterations", "batch_size")


def fidelity_cells(cfg: dict[str, Any]) -> list[dict[str, Any]]:
    """Every row of the page for this config: paper, entry, dataset, the paper's name for it (compare),
    the table's convention and the floors among the table's rows on that dataset. The cells are the
    tables' own (``table_cells``: ``use`` swaps applied, rows that need a missing checkpoint left out)."""
    cells, seen = [], set()
    for table, spec in cfg.get("reports", {}).items():
        ref = spec.get("published")
        block = fidelity_block(ref.partition("/")[0]) if ref and ref.partition("/")[0] in PAPERS else None
        if not block or ref not in block["tables"]:
            continue
        table_rows = table_cells(cfg, table)
        for d, row, entry in sorted(table_rows, key=lambda c: block["entries"].index(c[1])
                                    if c[1] in block["entries"] else len(block["entries"])):  # headline first
            key = (ref.partition("/")[0], entry, d)
            if row not in block["entries"] or cfg["datasets"][d]["adapter"] == "synthetic" or key in seen:
                continue
            seen.add(key)
            cells.append({"paper": key[0], "entry": entry, "dataset": d, "compare": spec.get("compare", {}).get(d, d),
                          "convention": spec.get("convention", cfg["evaluation"]["convention"]),
                          "floors": [m for dd, _, m in table_rows if dd == d
                                     and cfg["methods"][m].get("method", m) in FLOORS]})
    return cells


def fidelity_inputs(cfg: dict[str, Any]) -> list[str]:
    """The results the page reads: each row's entry and the floors beside it, and the entry's seeds
    summary where it trains with several seeds."""
    cells = fidelity_cells(cfg)
    files = {f"results/{c['dataset']}/{m}.json" for c in cells for m in [c["entry"], *c["floors"]]}
    files |= {f"results/{c['dataset']}/seeds/{c['entry']}.json" for c in cells if len(seed_runs(cfg, c["entry"])) > 1}
    return sorted(files)


def _scale(result: dict[str, Any]) -> str:
    inp = result.get("input") or {}
    size = f"{inp['height']} x {inp['width']}" if inp.get("height") and inp.get("width") else \
        f"{inp['height']} rows" if inp.get("height") else ""
    parts = ([f"frames {size}"] if size else []) + ([f"features {', '.join(inp['features'])}"] if inp.get("features") else [])
    params = result.get("params") or {}
    parts += [f"{k} {params[k]}" for k in SCALE_PARAMS if k in params]
    return "; ".join(str(p) for p in parts)


def write_fidelity(cfg: dict[str, Any], results_dir: str | Path, md_path: str | Path) -> None:
    """The page as Markdown and HTML (``write_table``), from ``results_dir/<dataset>/<entry>.json``."""
    from vadflow.reporting.tables import _pct, auc_interval, write_table

    root = Path(results_dir)
    header = ["paper", "method", "dataset", "ours", "paper's", "gap", "floor", "scale", "measured cause"]
    rows = []
    for c in fidelity_cells(cfg):
        path = root / c["dataset"] / f"{c['entry']}.json"
        if not path.exists():
            continue
        r = load_results([path])[0]
        conv = c["convention"]
        ours = r["frame_auc"].get(conv)
        ci = auc_interval(r, conv)
        seeds = root / c["dataset"] / "seeds" / f"{c['entry']}.json"
        spread = load_results([seeds])[0]["frame_auc"].get(conv) if seeds.exists() else None
        block = fidelity_block(c["paper"])
        figure = next((v for ref in block["tables"] if (v := published_table(ref).value(c["entry"], c["compare"]))
                       is not None), None)
        figure = figure.get("auc") if isinstance(figure, dict) else figure
        floors = [load_results([p])[0] for f in c["floors"] if (p := root / c["dataset"] / f"{f}.json").exists()]
        best = max(floors, key=lambda x: x["frame_auc"].get(conv) or 0.0, default=None)
        rows.append([
            c["paper"], r["label"], c["dataset"],
            f"{_pct(ours)}" + (f" [{_pct(ci[0])}, {_pct(ci[1])}]" if ci else "")
            + (f"; {_pct(spread['mean'])} ± {_pct(spread['sd'])} ({spread['n']} seeds)" if spread else ""),
            "" if figure is None else f"{figure:.2f}",
            "" if figure is None or ours is None else f"{figure - 100 * ours:+.2f}",
            "" if best is None else f"{_pct(best['frame_auc'].get(conv))} ({best['label']})",
            _scale(r),
            f"{block['cause']} ({block['docs']})",
        ])
    notes = [
        "- ours: frame AUC in the convention of the paper's table (Wan et al.: raw micro; the others: per-video min-max"
        " micro), in %, with its 95 % bootstrap interval over test videos (and, where the entry trains with"
        " several seeds, the mean ± sd over them); paper's: the figure the paper prints for"
        " that dataset; gap: paper's − ours; floor: the better parameter-free floor on the same data"
        " (vadflow.methods.floor).",
        "- Generated from this run's results at every build; the measured cause is each paper's one sentence in"
        " src/vadflow/published/<paper>.yaml, from its docs.",
    ]
    if not rows:
        notes.insert(0, "- This run has no results on real data: the page fills when a real dataset is configured"
                        " (config/paper.yaml on GPUs, config/cpu/ped2/*.yaml on a CPU).")
    write_table(header, rows, None, md_path, title="Fidelity: our figures on real data beside the papers'", notes=notes)


__all__ = ["fidelity_cells", "fidelity_inputs", "write_fidelity"]
