"""Where a workflow run's time and memory went: Snakemake's per-job benchmark files
(logs/benchmarks/<rule>/...tsv), per rule: jobs, wall seconds, CPU seconds, the slowest job, peak
memory (resident set), and the peak GPU memory training and scoring jobs on CUDA print to their logs."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from pathlib import Path

from vadflow.reporting.tables import write_table

HEADER = ["rule", "jobs", "wall_s", "cpu_s", "slowest_job_s", "peak_rss_mb", "peak_gpu_mb", "slowest_job"]
GPU_LINE = re.compile(r"peak GPU memory: (\d+(?:\.\d+)?) MB")


def gpu_peaks(benchmarks: str | Path, logs: str | Path | None = None) -> dict[str, float]:
    """{rule: peak GPU MB} from the jobs' logs (logs/<rule>/<same path>.log, beside logs/benchmarks):
    the line ``vadflow.runtime.report_gpu_peak`` prints on CUDA."""
    benchmarks = Path(benchmarks)
    logs = Path(logs) if logs is not None else benchmarks.parent
    peaks: dict[str, float] = {}
    for tsv in benchmarks.rglob("*.tsv"):
        log = logs / tsv.relative_to(benchmarks).with_suffix(".log")
        if log.is_file():
            for m in GPU_LINE.finditer(log.read_text(errors="replace")):
                rule = tsv.relative_to(benchmarks).parts[0]
                peaks[rule] = max(peaks.get(rule, 0.0), float(m.group(1)))
    return peaks


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
    gpu = gpu_peaks(root)
    rows = [[rule, str(n), f"{wall:.1f}", f"{cpu:.1f}", f"{top:.1f}", f"{rss:.0f}",
             f"{gpu[rule]:.0f}" if rule in gpu else "", where]
            for rule, n, wall, cpu, top, rss, where in table]
    rows.append(["total", str(sum(r[1] for r in table)), f"{sum(r[2] for r in table):.1f}",
                 f"{sum(r[3] for r in table):.1f}", "", f"{max((r[5] for r in table), default=0):.0f}",
                 f"{max(gpu.values()):.0f}" if gpu else "", ""])
    notes = ["- Per rule, from every job's Snakemake benchmark in logs/benchmarks: wall and CPU seconds summed over"
             " the rule's jobs, the slowest job, the peak resident memory of any job (MB). Jobs of the last run"
             " of each target; jobs that ran at the same time overlap in wall time.",
             "- peak_gpu_mb: the peak CUDA memory of the rule's jobs, from the line training and scoring jobs on a GPU"
             " print to their logs (Snakemake's benchmarks have none); empty for jobs on the CPU."]
    write_table(HEADER, rows, csv_path, md_path, title="Cost of the workflow's jobs, per rule", notes=notes)
