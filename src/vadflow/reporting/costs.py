"""Where a workflow run's time and memory went: Snakemake's per-job benchmark files
(logs/benchmarks/<rule>/...tsv), per rule: jobs, wall seconds, CPU seconds, the slowest job, peak
memory (resident set). GPU memory is not in Snakemake's benchmarks; a training job on CUDA records its
own peak in its log."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from vadflow.reporting.tables import write_table

HEADER = ["rule", "jobs", "wall_s", "cpu_s", "slowest_job_s", "peak_rss_mb", "slowest_job"]


def summarise(root: str | Path) -> list[tuple[str, int, float, float, float, float, str]]:
    """One row per rule, the costliest (CPU time) first."""
    root = Path(root)
    rows: dict[str, list] = defaultdict(lambda: [0, 0.0, 0.0, 0.0, 0.0, ""])
    for tsv in sorted(root.rglob("*.tsv")):
        rule = tsv.relative_to(root).parts[0]
        with open(tsv, newline="") as f:
            for r in csv.DictReader(f, delimiter="\t"):
                acc = rows[rule]
                s, cpu = float(r["s"]), float(r.get("cpu_time") or 0.0)
                rss = float(r["max_rss"]) if r.get("max_rss") not in (None, "", "-", "NA") else 0.0
                acc[0] += 1
                acc[1] += s
                acc[2] += cpu
                if s > acc[3]:
                    acc[3], acc[5] = s, str(tsv.relative_to(root / rule).with_suffix(""))
                acc[4] = max(acc[4], rss)
    return sorted(((k, *v) for k, v in rows.items()), key=lambda r: -r[3])


def write_costs(root: str | Path, csv_path: str | Path, md_path: str | Path) -> None:
    table = summarise(root)
    rows = [[rule, str(n), f"{wall:.1f}", f"{cpu:.1f}", f"{top:.1f}", f"{rss:.0f}", where]
            for rule, n, wall, cpu, top, rss, where in table]
    rows.append(["total", str(sum(r[1] for r in table)), f"{sum(r[2] for r in table):.1f}",
                 f"{sum(r[3] for r in table):.1f}", "", f"{max((r[5] for r in table), default=0):.0f}", ""])
    notes = ["- Per rule, from every job's Snakemake benchmark in logs/benchmarks: wall and CPU seconds summed over"
             " the rule's jobs, the slowest job, the peak resident memory of any job (MB). Jobs of the last run"
             " of each target; jobs that ran at the same time overlap in wall time.",
             "- GPU memory is not in Snakemake's benchmarks: a training job on CUDA writes its peak to its log."]
    write_table(HEADER, rows, csv_path, md_path, title="Cost of the workflow's jobs, per rule", notes=notes)
