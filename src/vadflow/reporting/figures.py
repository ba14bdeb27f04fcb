"""Figures: ROC curves per dataset, and each test video's scores over time with ground truth shaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from vadflow.atomic import atomic_path  # noqa: E402
from vadflow.data.layout import labels_to_intervals  # noqa: E402
from vadflow.evaluation.metrics import minmax_normalise  # noqa: E402


def _save(fig, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def plot_roc(results: Sequence[dict[str, Any]], dataset: str, out: str | Path) -> None:
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    for r in results:
        auc = r["frame_auc"]["minmax_micro"]
        ax.plot(r["roc"]["fpr"], r["roc"]["tpr"], lw=1.6, label=f"{r['label']} (AUC {100 * auc:.1f}%)")
    ax.plot([0, 1], [0, 1], color="0.7", lw=0.8, ls="--")
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="false positive rate", ylabel="true positive rate")
    ax.set_title(f"{dataset}: frame-level ROC\n(per-video min-max normalised, micro)", fontsize=9)
    # below the axes: method labels are long and would cover the curves inside them
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    _save(fig, out)


def write_roc_csv(results: Sequence[dict[str, Any]], out: str | Path) -> None:
    """The ROC curves of ``plot_roc`` as data, long form (``method,fpr,tpr``, one row per point,
    in curve order; ``method`` is the config entry), for ``dvc plots``."""
    import csv

    with atomic_path(out) as tmp:
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["method", "fpr", "tpr"])
            for r in results:
                fpr, tpr = r["roc"]["fpr"], r["roc"]["tpr"]
                if len(fpr) != len(tpr):
                    raise ValueError(f"results of {r['method']} on {r['dataset']}: ROC fpr and tpr differ in length")
                w.writerows((r["method"], float(x), float(y)) for x, y in zip(fpr, tpr))


def plot_timeline(
    video: str,
    labels: np.ndarray,
    scores_by_method: dict[str, np.ndarray],
    out: str | Path,
) -> None:
    """One test video: small multiples, one panel per method (its min-max normalised anomaly score over
    the frames), on a shared frame axis, the ground-truth anomalous frames shaded in every panel. (Eight
    curves on one axis, under their legend, could not be read.)"""
    n = max(1, len(scores_by_method))
    fig, axes = plt.subplots(n, 1, figsize=(7.5, 0.62 * n + 0.7), sharex=True, squeeze=False)
    spans = labels_to_intervals(labels)
    for ax, (label, s) in zip(axes[:, 0], scores_by_method.items() or [("", np.zeros(len(labels)))]):
        for start, end in spans:
            ax.axvspan(start - 0.5, end - 0.5, color="tab:red", alpha=0.15, lw=0)
        ax.plot(np.arange(len(s)), minmax_normalise(s), lw=1.1, color="C0")
        ax.set(ylim=(-0.05, 1.05), yticks=[])
        ax.text(0.005, 0.93, label, transform=ax.transAxes, fontsize=7, va="top", ha="left",
                bbox={"facecolor": "white", "alpha": 0.75, "lw": 0, "pad": 1})
    axes[-1, 0].set(xlim=(-0.5, len(labels) - 0.5), xlabel="frame")
    axes[0, 0].set_title(f"{video}: each method's score, min-max normalised per video (shaded: ground-truth"
                         " anomalous frames)", fontsize=8)
    fig.subplots_adjust(hspace=0.08)
    _save(fig, out)


def plot_timelines(score_stores: Sequence[str | Path], test_stores: Sequence[str | Path], out_dir: str | Path) -> None:
    """Write ``<out_dir>/<video>.png`` for every test video (the folder appears when complete)."""
    from vadflow.data.store import FrameStore
    from vadflow.scores import read_scores

    runs = []
    for path in score_stores:
        attrs, scores, _ = read_scores(path)
        runs.append((attrs["label"], scores))
    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        for p in test_stores:
            store = FrameStore(p)
            per_method = {label: scores[store.name] for label, scores in runs if store.name in scores}
            plot_timeline(store.name, store.labels, per_method, tmp / f"{store.name}.png")


def sweep_figure(results: Sequence[dict[str, Any]], spec: dict[str, Any], convention: str, out: str | Path,
                 published: dict[str, dict[str, Any]] | None = None) -> None:
    """A parameter sweep (e.g. Luo et al. Fig. 8: AUC and code sparsity against the number of
    layers K): one panel per y field, one line per dataset, x read from each result. ``published``
    ({row: {dataset: figure}}, AUC in %) adds the paper's points at the same x, hollow, beside ours."""
    from vadflow.reporting.cells import cell_lookup, metric_value, result_field

    cell = cell_lookup(results, spec.get("use"))
    x_path, ys = spec["plot"]["x"], spec["plot"]["y"]
    fig, axes = plt.subplots(1, len(ys), figsize=(3.8 * len(ys), 3.2), squeeze=False)
    for ax, y_path in zip(axes[0], ys):
        for d in spec["datasets"]:
            points, paper = [], []
            for m in spec["methods"]:
                r = cell(d, m)
                x = result_field(r, x_path)
                y = metric_value(r, y_path, convention)
                if x is not None and y is not None:
                    points.append((x, 100 * y if y_path == "auc" else y))
                figure = (published or {}).get(m, {}).get(d)  # one figure of the table's metric, or {field: figure}
                figure = figure.get(y_path) if isinstance(figure, dict) else (
                    figure if y_path == spec.get("metric", "auc") else None)
                if x is not None and isinstance(figure, (int, float)) and not isinstance(figure, bool):
                    paper.append((x, float(figure)))
            points.sort()
            if points:
                line = ax.plot(*zip(*points), marker="o", lw=1.5, label=f"{d} (ours)")[0]
                if paper:
                    ax.plot(*zip(*sorted(paper)), marker="s", mfc="none", ls="none", color=line.get_color(),
                            label=f"paper ({spec.get('compare', {}).get(d, d)})")
        ax.set_xscale(spec["plot"].get("xscale", "linear"))
        ax.set(xlabel=_field_label(x_path), ylabel="frame AUC (%)" if y_path == "auc" else _field_label(y_path))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(spec["title"], fontsize=9)
    fig.tight_layout()
    _save(fig, out)


def bar_figure(results: Sequence[dict[str, Any]], spec: dict[str, Any], convention: str, out: str | Path) -> None:
    """One bar per row (method) and dataset, one panel per y field (e.g. Chang et al. Fig. 8a:
    the score gap of the appearance cue, the motion cue and both)."""
    from vadflow.reporting.cells import cell_lookup, metric_value

    cell = cell_lookup(results, spec.get("use"))
    ys, methods, datasets = spec["plot"]["y"], list(spec["methods"]), list(spec["datasets"])
    fig, axes = plt.subplots(1, len(ys), figsize=(1.2 + 1.1 * len(methods) * len(ys), 3.2), squeeze=False)
    width = 0.8 / max(1, len(datasets))
    for ax, y_path in zip(axes[0], ys):
        for j, d in enumerate(datasets):
            heights = []
            for m in methods:
                y = metric_value(cell(d, m), y_path, convention)
                heights.append(np.nan if y is None else (100 * y if y_path == "auc" else y))
            ax.bar(np.arange(len(methods)) + (j - (len(datasets) - 1) / 2) * width, heights, width, label=d)
        labels = [(cell(datasets[0], m) or {}).get("label", m) for m in methods]
        ax.set_xticks(np.arange(len(methods)), [spec.get("labels", {}).get(m, lbl) for m, lbl in zip(methods, labels)],
                      rotation=20, ha="right", fontsize=7)
        ax.set(ylabel="frame AUC (%)" if y_path == "auc" else _field_label(y_path))
        ax.grid(alpha=0.3, axis="y")
        if len(datasets) > 1:
            ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=len(datasets))
        else:
            ax.set_title(datasets[0], fontsize=8)
    fig.suptitle(spec["title"], fontsize=9)
    fig.tight_layout()
    _save(fig, out)


def _field_label(path: str) -> str:
    """``method_stats.code_sparsity`` -> ``code sparsity``; ``params.K`` -> ``K``."""
    return path.rsplit(".", 1)[-1].replace("_", " ")


def scale_trend_figure(trends: Sequence[dict[str, Any]], out: str | Path, convention: str = "minmax_micro") -> None:
    """Frame AUC against training steps (log scale), one panel per entry (``benchmarks/scale_trend.py``
    writes each trend): ours with the bootstrap interval over test videos as error bars, the floors
    (dotted) and the paper's figure (dashed) as horizontal lines; each point names its factor and the
    wall-clock hours of training it took in all (the train log's ``seconds``, which run on across extensions)
    and its last training loss (a loss that keeps falling while the AUC does not is the point to see)."""
    fig, axes = plt.subplots(1, len(trends), figsize=(5.0 * len(trends), 3.8), squeeze=False)
    for ax, t in zip(axes[0], trends):
        pts = t["points"]
        x = [p["steps"] for p in pts]
        y = [100 * p["frame_auc"][convention] for p in pts]
        ci = [(p.get("frame_auc_ci") or {}).get(convention) for p in pts]
        err = np.array([[yy - 100 * c[0], 100 * c[1] - yy] if c else [0, 0] for yy, c in zip(y, ci)]).T
        ax.errorbar(x, y, yerr=err, marker="o", color="C0", capsize=3, label="ours (95 % interval over test videos)")
        for xx, yy, p in zip(x, y, pts):
            loss = f"\nloss {p['final_loss']:.3g}" if p.get("final_loss") is not None else ""
            ax.annotate(f"{p['factor']}x, {p['train_hours']:.2f} h{loss}", (xx, yy), fontsize=7,
                        textcoords="offset points", xytext=(6, 6),
                        bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8})
        for (name, fig_auc), style in zip(sorted(t.get("floors", {}).items()), (":", (0, (1, 3)))):
            ax.axhline(100 * fig_auc[convention], color="0.4", ls=style, lw=1, label=f"floor: {name}")
        if t.get("paper") is not None:
            ax.axhline(t["paper"], color="C3", ls="--", lw=1, label=f"paper: {t.get('paper_source') or 'published'}")
        ax.set_xscale("log", base=2)
        ax.set_xlim(min(x) / 1.4, max(x) * 2.2)  # room for the last point's note
        ax.set(xlabel="training steps", ylabel="frame AUC (%)", title=f"{t['label']}\n{t['dataset']}")
        ax.title.set_fontsize(9)
        ax.legend(fontsize=6.5, loc="lower right")
    _save(fig, out)
