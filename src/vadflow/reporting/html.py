"""Tables as small self-contained HTML pages, for Snakemake's report (`snakemake --report`), which
embeds them: the table as the Markdown shows it (AUC with its interval), its notes, and the protocol
card of every row that ran (vadflow.evaluation.protocol)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Sequence

from vadflow.atomic import atomic_path

_STYLE = """
body { font-family: system-ui, sans-serif; font-size: 13px; margin: 12px; color: #222; }
h2 { font-size: 15px; margin: 0 0 8px; }
h3 { font-size: 13px; margin: 14px 0 6px; }
table { border-collapse: collapse; margin-bottom: 8px; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.published td { color: #777; }
ul { margin: 4px 0; padding-left: 18px; }
.card td { font-size: 12px; }
"""

#: the card's fields in the order a reader checks them, with their row titles
CARD_FIELDS = [
    ("labels", "labels"), ("labels_sha256", "label checksum"), ("frame_alignment", "frame alignment"),
    ("normalisation", "normalisation"), ("pooling", "pooling"), ("excluded", "excluded"), ("split", "split"),
    ("test_labels_used_for", "test labels used for"),
    ("declared", "declared"),
]


def _cell(text: str) -> str:
    looks_numeric = text[:1].isdigit() or text[:1] == "-" and text[1:2].isdigit()
    return f'<td class="num">{html.escape(text)}</td>' if looks_numeric else f"<td>{html.escape(text or '–')}</td>"


def write_html_table(path: str | Path, title: str, header: Sequence[str], rows: Sequence[Sequence[str]],
                     notes: Sequence[str] = (), cards: Sequence[tuple[str, dict[str, Any]]] = ()) -> None:
    """``cards``: (row title, protocol card) of the rows that ran."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{_STYLE}</style></head><body>", f"<h2>{html.escape(title)}</h2>", "<table><tr>"]
    parts += [f"<th>{html.escape(h)}</th>" for h in header] + ["</tr>"]
    for r in rows:
        published = any("published figure only" in c for c in r)
        parts.append(f"<tr{' class=published' if published else ''}>" + "".join(_cell(c) for c in r) + "</tr>")
    parts.append("</table>")
    if notes:
        parts.append("<ul>" + "".join(f"<li>{html.escape(n.removeprefix('- '))}</li>" for n in notes if n.strip()) + "</ul>")
    if cards:  # one row per result, one column per field: differences between rows stand out
        parts.append("<h3>Protocol of each row</h3><table class=card><tr><th>row</th>")
        parts += [f"<th>{label}</th>" for _, label in CARD_FIELDS] + ["</tr>"]
        for name, card in cards:
            values = [str(card.get(key, "")) for key, _ in CARD_FIELDS]
            values[1] = values[1][:12]  # the checksum's first 12 hex digits tell label files apart
            parts.append(f"<tr><td>{html.escape(name)}</td>" + "".join(f"<td>{html.escape(v)}</td>" for v in values)
                         + "</tr>")
        parts.append("</table><p>Label checksum: the first 12 hex digits of the sha256 of the test labels"
                     " (the whole one is in results/&lt;dataset&gt;/&lt;method&gt;.json).</p>")
    parts.append("</body></html>")
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(parts))


def write_settings(path: str | Path, config: dict[str, Any]) -> None:
    """The workflow's configuration as YAML on a page of its own."""
    import yaml

    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True, default_flow_style=None, width=110)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>Settings</title><style>{_STYLE}"
            "pre { font-size: 12px; }</style></head><body><h2>The configuration of this run</h2>"
            f"<pre>{html.escape(text)}</pre></body></html>")
    with atomic_path(path) as tmp:
        tmp.write_text(page)
