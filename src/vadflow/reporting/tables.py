"""Results tables: rows = methods (with supervision), columns = datasets, cells = AUC in %."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Callable, Sequence

from vadflow.atomic import atomic_path
from vadflow.config import cell_method
from vadflow.reporting.cells import cell_lookup, load_results, metric_value
from vadflow.evaluation.results import CONVENTIONS
from vadflow.reporting.published import published_table


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.2f}"


def use_notes(use: dict[str, dict[str, str | None]] | None) -> list[str]:
    return [
        f"{d}: row {row} shows {m}" if m is not None else f"{d}: row {row} is not run there (its protocol does not apply)"
        for d, swaps in (use or {}).items()
        for row, m in swaps.items()
    ]


def row_label(cell, datasets: Sequence[str], row: str, own: Sequence[dict[str, Any]]) -> tuple[str, str]:
    """The row's label and supervision: from its own entry's result where there is one."""
    first = next((r for r in own if r["method"] == row), None) or next(
        (cell(d, row) for d in datasets if cell(d, row)), None
    )
    return (first["label"], first["supervision"]) if first else (row, "")


def seed_lookup(
    summaries: Sequence[dict[str, Any]], use: dict[str, dict[str, str]] | None = None
) -> Callable[[str, str], dict[str, Any] | None]:
    """(dataset, row) -> the seed summary of that cell (``evaluation.results.seed_summary``), if its
    entry trained with several seeds."""
    by_key = {(s["dataset"], s["method"]): s for s in summaries}
    return lambda d, row: by_key.get((d, cell_method(use, d, row)))


def seed_cells(summary: dict[str, Any] | None, convention: str) -> list[str]:
    """Mean and standard deviation over the seeds (in %) and their number, as three CSV columns."""
    fig = ((summary or {}).get("frame_auc") or {}).get(convention)
    return [_pct(fig["mean"]), _pct(fig["sd"]), str(fig["n"])] if fig else ["", "", ""]


def seed_text(summary: dict[str, Any] | None, convention: str) -> str:
    """``; 71.20 ± 0.90 (3 seeds)`` after a cell's figure, or nothing."""
    fig = ((summary or {}).get("frame_auc") or {}).get(convention)
    return f"; {100 * fig['mean']:.2f} ± {100 * fig['sd']:.2f} ({fig['n']} seeds)" if fig else ""


SEED_NOTE = ("After ';': the mean ± standard deviation of the figure over the entry's training seeds (seeds:,"
             " n − 1 in the deviation); the figure and interval before it are the first seed's."
             " Every seed's figures: results/<dataset>/seeds/<method>.json.")


def floor_notes(cell, datasets: Sequence[str], methods: Sequence[str], convention: str) -> list[str]:
    """A note for every learned cell whose interval lies entirely below the parameter-free floor's (the
    floor row of that dataset with the higher figure; vadflow.methods.floor)."""
    from vadflow.methods.floor import FLOORS

    notes = []
    for d in datasets:
        floors = [r for m in methods if (r := cell(d, m)) and r.get("method_id") in FLOORS
                  and auc_interval(r, convention) and r["frame_auc"].get(convention) is not None]
        if not floors:
            continue
        floor = max(floors, key=lambda r: r["frame_auc"][convention])
        low = auc_interval(floor, convention)[0]
        for m in methods:
            r = cell(d, m)
            if not r or r.get("method_id") in FLOORS or not auc_interval(r, convention):
                continue
            ci = auc_interval(r, convention)
            if ci[1] < low:
                notes.append(f"Below the floor: {r['label']} on {d} ({_pct(ci[0])}–{_pct(ci[1])}) lies entirely below"
                             f" {floor['label']} ({_pct(low)}–{_pct(auc_interval(floor, convention)[1])}).")
    return notes


def auc_table(
    results: Sequence[dict[str, Any]],
    datasets: Sequence[str],
    methods: Sequence[str],
    convention: str,
    use: dict[str, dict[str, str]] | None = None,
    summaries: Sequence[dict[str, Any]] = (),
) -> tuple[list[str], list[list[str]], list[list[str]]]:
    """Header and rows of the frame-AUC table in the chosen convention: the CSV's (one column per
    dataset, then each dataset's interval as two columns, and with seeds each dataset's mean, sd and
    number of seeds) and the Markdown's (``82.00 [78.10, 85.60]; 81.20 ± 0.90 (3 seeds)``)."""
    from vadflow.evaluation.bootstrap import format_with_interval

    cell, seeds = cell_lookup(results, use), seed_lookup(summaries, use)
    header = ["method", "supervision"] + list(datasets) + [f"{d} {end}" for d in datasets for end in ("ci_low", "ci_high")]
    if summaries:
        header += [f"{d} {end}" for d in datasets for end in ("seed_mean", "seed_sd", "seeds")]
    rows, md_rows = [], []
    for m in methods:
        label, sup = row_label(cell, datasets, m, results)
        cells = [_pct(cell(d, m)["frame_auc"][convention]) if cell(d, m) else "" for d in datasets]
        intervals = [x for d in datasets for x in interval_cells(cell(d, m), convention)]
        spread = [x for d in datasets for x in seed_cells(seeds(d, m), convention)] if summaries else []
        rows.append([label, sup] + cells + intervals + spread)
        md_rows.append([label, sup] + [
            format_with_interval(cell(d, m)["frame_auc"][convention], auc_interval(cell(d, m), convention))
            + seed_text(seeds(d, m), convention) if cell(d, m) else "" for d in datasets])
    return header, rows, md_rows


def auc_interval(result: dict[str, Any] | None, convention: str) -> list[float] | None:
    """The result's bootstrap interval of the frame AUC in ``convention`` (``frame_auc_ci``), if any."""
    return ((result or {}).get("frame_auc_ci") or {}).get(convention) or None


def interval_cells(result: dict[str, Any] | None, convention: str) -> list[str]:
    """The interval's two ends in %, as the CSVs' two extra columns."""
    ci = auc_interval(result, convention)
    return [_pct(ci[0]), _pct(ci[1])] if ci else ["", ""]


#: what an event count means, beside every TP/FA figure (issue: part of a min-max TP count is structural)
EVENTS_NOTE = (
    "events.*: the papers' event rule (persistent maxima, a window around each, overlaps merged: evaluation.events) on"
    " per-video min-max normalised scores. Min-max puts every video's top frame at 1, above the threshold, so every"
    " test video whose scores are not constant yields at least one event whatever the method: in a video that is"
    " mostly anomalous that event is almost surely a true positive, so part of every such TP count is structural."
    " events_calibrated.*: the same rule on the model's scale on its normal training videos ((s − median) / (max −"
    " median) of their frames, work/<dataset>/models/<method>/calibration.json, as vadflow detect uses), threshold 1:"
    " an event only where a frame is more unusual than any training frame; a video can get none."
)

#: results fields that are fractions, shown in % (besides auc and frame_auc.*)
PERCENT_FIELDS = {
    "eer", "eer_raw", "pixel_auc.minmax", "pixel_auc.raw", "rbdc_tbdc.rbdc", "rbdc_tbdc.tbdc",
    "events.precision", "events.recall", "events_calibrated.precision", "events_calibrated.recall",
    "selection_on_test.best_auc", "selection_on_test.inflation",
    "category_accuracy", "method_stats.explained_energy",
}


def format_field(path: str, value: Any) -> str:
    """AUC-like fields (fractions) in %, other numbers with four significant digits."""
    if value is None:
        return ""
    if isinstance(value, float) and (path == "auc" or path.startswith("frame_auc.") or path in PERCENT_FIELDS):
        return _pct(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or abs(value) >= 1000:
        return f"{value:.0f}"
    return f"{value:.4g}"


def write_table(
    header: list[str],
    rows: list[list[str]],
    csv_path: str | Path | None,
    md_path: str | Path | None,
    *,
    title: str,
    notes: Sequence[str] = (),
    md_header: list[str] | None = None,
    md_rows: list[list[str]] | None = None,
    cards: Sequence[tuple[str, dict[str, Any]]] = (),
) -> None:
    """The table as CSV and/or Markdown (either path None to skip it), each written atomically; the
    Markdown may show other columns (``md_header``/``md_rows``: an AUC with its interval in one cell).
    Beside the Markdown, the same as an HTML page (``.html``) for the report, with the rows' protocol
    ``cards``."""
    if csv_path is not None:
        with atomic_path(csv_path) as tmp:
            with open(tmp, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(header)
                w.writerows(rows)
    if md_path is None:
        return
    header, rows = md_header or header, md_rows if md_rows is not None else rows
    lines = [f"# {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c or "–" for c in r) + " |" for r in rows]
    lines += [""] + [f"{n}" for n in notes]
    with atomic_path(md_path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    from vadflow.reporting.html import write_html_table

    write_html_table(Path(md_path).with_suffix(".html"), title, header, rows, notes, cards)


def protocol_cards(results: Sequence[dict[str, Any]], cell, datasets: Sequence[str], methods: Sequence[str],
                   convention: str) -> list[tuple[str, dict[str, Any]]]:
    """(row title, card) of every cell of the table that has a result with a card, the card's
    normalisation and pooling those of the table's ``convention`` (the one its figures follow)."""
    from vadflow.evaluation.protocol import convention_fields

    cards = []
    for m in methods:
        for d in datasets:
            r = cell(d, m)
            if r and r.get("protocol"):
                cards.append((f"{r['label']} on {d}", {**r["protocol"], **convention_fields(convention)}))
    return cards


def write_table3(
    result_paths: Sequence[str | Path],
    datasets: Sequence[str],
    methods: Sequence[str],
    convention: str,
    csv_path: str | Path,
    md_path: str | Path,
    dataset_notes: dict[str, str] | None = None,
    use: dict[str, dict[str, str]] | None = None,
    seed_paths: Sequence[str | Path] = (),
) -> None:
    """The AUC comparison table every paper has (its Table 3 in Luo et al.). ``result_paths`` may hold
    the runs of other seeds too (``seed_paths``: their summaries); rows are the configured entries."""
    results, summaries = load_results(result_paths), load_results(seed_paths)
    header, rows, md_rows = auc_table(results, datasets, methods, convention, use, summaries)
    notes = [
        f"Cells: {CONVENTIONS[convention]}, in %." + interval_note(results),
        "Supervision: U = unsupervised (normal training videos only), W = weakly (video labels), F = fully (frame labels).",
        "Raw micro and macro AUC, EER, event-level TP/FA, and where there are pixel masks pixel-level AUC and"
        " RBDC/TBDC of every cell are in results/<dataset>/<method>.json (docs/evaluation.md).",
    ] + ([SEED_NOTE] if summaries else []) + use_notes(use)
    notes += floor_notes(cell_lookup(results, use), datasets, methods, convention)
    for d, text in (dataset_notes or {}).items():
        notes.append(f"{d}: {text}")
    write_table(header, rows, csv_path, md_path, title="Frame-level AUC (%)", notes=[f"- {n}" for n in notes],
                md_header=header[: 2 + len(datasets)], md_rows=md_rows,
                cards=protocol_cards(results, cell_lookup(results, use), datasets, methods, convention))


def interval_note(results: Sequence[dict[str, Any]]) -> str:
    """How the intervals were made (from the first result that has one), or nothing."""
    ci = next((r["frame_auc_ci"] for r in results if r.get("frame_auc_ci")), None)
    if not ci:
        return ""
    stratified = sorted({r["dataset"] for r in results if ((r.get("frame_auc_ci") or {}).get("strata") or {})
                         .get("videos", {}).keys() - {"None"}})
    within = (f"; on {', '.join(stratified)} within each test-video category, the category mix held fixed as the "
              "test set was made" if stratified else "")
    return (f" In brackets: the {100 * ci['level']:.0f} % interval of a bootstrap over test videos ({ci['draws']}"
            f" draws, seed {ci['seed']}; percentile{within}; vadflow.evaluation.bootstrap); the CSV has it as two "
            "columns.")


def computed_on(dataset_cfg: dict[str, Any], name: str) -> str:
    """What a row was computed on: the synthetic generator or the real dataset's adapter."""
    if dataset_cfg.get("description"):
        return dataset_cfg["description"]
    if dataset_cfg["adapter"] == "synthetic":
        variant = dataset_cfg.get("params", {}).get("variant")
        return f"synthetic {dataset_cfg['generator']}" + (f" ({variant})" if variant else "")
    return f"real: {name} ({dataset_cfg['adapter']} adapter)"


def _published(figure: Any) -> str:
    """A published figure as the paper prints it: AUC-like numbers with two decimals, "12/1" as is."""
    if figure is None:
        return ""
    return f"{figure:.2f}" if isinstance(figure, float) else str(figure)


def write_paper_table(
    result_paths: Sequence[str | Path],
    spec: dict[str, Any],
    datasets_cfg: dict[str, Any],
    convention: str,
    csv_path: str | Path,
    md_path: str | Path,
    seed_paths: Sequence[str | Path] = (),
    calibrated_paths: Sequence[str | Path] = (),
) -> None:
    """A paper's table in long form: one row per (method, dataset), ours beside the published figure.

    ``spec.metric`` (default auc, in the configured convention) is the compared value;
    ``spec.columns`` adds result fields; ``spec.plot`` also draws ``<output>.png``; ``seed_paths``: the
    seed summaries of rows trained with several seeds (mean, sd and n of the AUC as three columns);
    ``calibrated_paths``: the rows' events on the calibrated scale (rule calibrated_events), merged into
    their results as ``events_calibrated``.
    """
    results, summaries = load_results(result_paths), load_results(seed_paths)
    calibrated = {(c["dataset"], c["method"]): c["events_calibrated"] for c in load_results(calibrated_paths)}
    results = [{**r, "events_calibrated": calibrated[(r["dataset"], r["method"])]}
               if (r["dataset"], r["method"]) in calibrated else r for r in results]
    cell = cell_lookup(results, spec.get("use"))
    seeds = seed_lookup(summaries, spec.get("use"))
    paper = spec.get("paper", {})
    published = published_table(spec["published"]) if spec.get("published") else None
    compare = spec.get("compare", {})
    metric = spec.get("metric", "auc")
    columns = list(spec.get("columns", []))
    not_run = spec.get("not_run", {})
    # a published cell is one figure (the table's metric) or {field: figure} for tables of several metrics
    paper_columns = [c for c in columns if published is not None and published.has_field(c)]

    def figures(figure: Any) -> list[str]:
        """The paper's figure for the metric, then one per column it publishes."""
        if isinstance(figure, dict):
            return [_published(figure.get(metric))] + [_published(figure.get(c)) for c in paper_columns]
        return [_published(figure)] + [""] * len(paper_columns)

    with_ci = metric == "auc"
    with_seeds = with_ci and bool(summaries)
    header = ["method", "supervision", "dataset", "computed_on", metric, "paper", *columns,
              *[f"{c} (paper)" for c in paper_columns], *(["auc_ci_low", "auc_ci_high"] if with_ci else []),
              *(["auc_seed_mean", "auc_seed_sd", "seeds"] if with_seeds else [])]
    rows = []
    paper_points: dict[str, dict[str, Any]] = {}  # {row: {dataset: figure}} for the plot
    for m in spec["methods"]:
        label, sup = row_label(cell, spec["datasets"], m, results)
        if label == m:  # no result (a row not run): the entry's configured label
            label = spec.get("labels", {}).get(m, m)
        for d in spec["datasets"]:
            r = cell(d, m)
            figure = paper.get(m, {}).get(d)
            if figure is None and published is not None:
                figure = published.value(m, compare.get(d, d))
            paper_figures = figures(figure)
            paper_points.setdefault(m, {})[d] = figure
            where = computed_on(datasets_cfg[d], d) if m not in not_run else f"not run: {not_run[m]}"
            rows.append([
                label,
                sup,
                d,
                where,
                format_field(metric, metric_value(r, metric, convention)),
                paper_figures[0],
                *[format_field(c, metric_value(r, c, convention)) for c in columns],
                *paper_figures[1:],
                *(interval_cells(r, convention) if with_ci else []),
                *(seed_cells(seeds(d, m), convention) if with_seeds else []),
            ])
    if published is not None:  # the competitors: their published figures, not run here
        by_paper_name = {compare.get(d, d): d for d in spec["datasets"]}
        for row, paper_dataset, figure in published.others(list(spec["methods"]), list(by_paper_name)):
            d = by_paper_name[paper_dataset]
            paper_figures = figures(figure)
            rows.append([row, "", d, "not run here (published figure only)", "", paper_figures[0],
                         *[""] * len(columns), *paper_figures[1:], *(["", ""] if with_ci else []),
                         *(["", "", ""] if with_seeds else [])])
    what = f"{CONVENTIONS[convention]}, in %" if metric == "auc" else f"the results field {metric!r}"
    source = (
        f" ({published.paper}, {published.caption}; src/vadflow/published/{published.ref.split('/')[0]}.yaml)"
        if published is not None else ""
    )
    compared = [f"{d} rows beside the paper's {p}" for d, p in compare.items() if d in spec["datasets"] and d != p]
    notes = [
        f"- {metric}: {what}; paper: the figure the paper publishes for that cell{source}, empty where it publishes"
        " none; rows without a figure of ours are competitors the paper compares against, not run here.",
        "- computed_on says which data each row ran on: on the embedded default, synthetic stand-ins;"
        " configure the real datasets to get the real rows.",
    ] + [f"- {n}" for n in use_notes(spec.get("use"))]
    if compared:
        notes.append(f"- Compared: {', '.join(compared)} (a stand-in, not the same data).")
    if with_seeds:
        notes.append("- auc_seed_mean, auc_seed_sd, seeds: the AUC's mean and standard deviation (n − 1) over the"
                     " entry's training seeds (seeds:), and their number; auc and its interval are the first seed's."
                     " Every seed's figures: results/<dataset>/seeds/<method>.json.")
    notes += [f"- {n}" for n in floor_notes(cell, spec["datasets"], spec["methods"], convention)] if with_ci else []
    if not_run:
        notes.append("- not run: rows whose backbone needs a checkpoint this installation has not been given"
                     " (set the feature spec's weights: to the file; nothing is downloaded).")
    if any(str(c).startswith("events") for c in [metric, *columns]):
        notes.append(f"- {EVENTS_NOTE}")
    if any(c.startswith("selection_on_test.") for c in columns):
        notes.append(
            "- selection_on_test: the best of the training snapshots (params.snapshot_every) chosen on the TEST"
            " labels, and how much it adds over the last iteration: what checkpoint selection on test data"
            " (as the sRNN-AE authors' evaluation script does) inflates; not a result of ours."
        )
    if spec.get("plot"):
        from vadflow.reporting.figures import bar_figure, sweep_figure

        png = str(csv_path).removesuffix(".csv") + ".png"
        if "x" in spec["plot"]:
            sweep_figure(results, spec, convention, png, published=paper_points)
        else:
            bar_figure(results, spec, convention, png)
        notes.append(f"- Figure: {Path(png).name}" + (" (hollow squares: the paper's figures)." if "x" in spec["plot"] else "."))
    md_header, md_rows = header, rows
    if with_ci:  # the Markdown shows the interval (and the seeds' spread) in the AUC's cell
        notes[0] += interval_note(results)
        extra = 5 if with_seeds else 2
        md_header, md_rows = header[:-extra], []
        for row in rows:
            low, high = row[-extra:][:2]
            cell_text = f"{row[4]} [{low}, {high}]" if row[4] and low else row[4]
            if with_seeds and row[-3]:
                cell_text += f"; {row[-3]} ± {row[-2]} ({row[-1]} seeds)"
            md_rows.append([*row[:4], cell_text, *row[5:-extra]])
    write_table(header, rows, csv_path, md_path, title=spec["title"], notes=notes, md_header=md_header, md_rows=md_rows,
                cards=protocol_cards(results, cell, spec["datasets"], spec["methods"], convention))


def write_split_table(
    manifest_paths: dict[str, str | Path],
    spec: dict[str, Any],
    regimes: dict[str, str],
    datasets_cfg: dict[str, Any],
    csv_path: str | Path,
    md_path: str | Path,
) -> None:
    """A table of the videos each row trained and was tested on (Wan et al. Table 2's data splits):
    per (method, dataset), the training videos the method's regime admits (normal / anomalous) and the
    test videos, beside the paper's counts for that regime (``spec.published``: rows named by regime,
    cells ``{train: n, test: n}``)."""
    from vadflow.data.layout import Manifest
    from vadflow.data.supervision import training_videos

    published = published_table(spec["published"]) if spec.get("published") else None
    compare = spec.get("compare", {})

    def paper_counts(regime: str, dataset: str) -> dict[str, Any]:
        for row in published.rows if published is not None else ():
            if row.get("regime") == regime and dataset in row["values"]:
                return row["values"][dataset]
        return {}

    header = ["method", "supervision", "dataset", "computed_on", "train", "train_normal", "train_anomalous", "test",
              "train (paper)", "test (paper)"]
    rows = []
    for m in spec["methods"]:
        regime = regimes[m]
        for d in spec["datasets"]:
            manifest = Manifest.read(manifest_paths[d])
            train = training_videos(manifest, regime)
            anomalous = sum(1 for v in train if v.video_label)
            paper = paper_counts(regime[0].upper(), compare.get(d, d))
            rows.append([spec.get("labels", {}).get(m, m), regime[0].upper(), d, computed_on(datasets_cfg[d], d),
                         str(len(train)), str(len(train) - anomalous), str(anomalous), str(len(manifest.split("test"))),
                         _published(paper.get("train")), _published(paper.get("test"))])
    source = f" ({published.paper}, {published.caption})" if published is not None else ""
    notes = [
        "- train: the training videos the row's supervision admits (U: normal ones only; W, F: all), split into"
        " normal and anomalous; test: the test videos (the same for every regime). Paper: the counts of its"
        f" Table 2 for that regime{source}.",
        "- Each dataset's split is listed video by video in work/<dataset>/split.csv (datasets.<name>.split"
        " replaces a dataset's official split, e.g. Wan et al.'s reorganised Ped2 / Avenue ones).",
    ]
    write_table(header, rows, csv_path, md_path, title=spec["title"], notes=notes)
