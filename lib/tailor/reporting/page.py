"""Assemble the report's sections into one HTML page that needs no network: styles inline, images as
``data:image/png;base64`` URIs."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from datetime import date


@dataclass
class Table:
    headers: list[str]
    rows: list[list[object]]


@dataclass
class Section:
    """One part of the report: ``key`` is its HTML id; ``note`` says why it is empty when it is."""

    key: str
    title: str
    images: list[tuple[str, bytes]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    note: str | None = None


_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{margin-bottom:.2rem} .sub{color:#666;margin-top:0} section{margin:2.2rem 0;border-top:1px solid #ddd}
table{border-collapse:collapse;font-size:.85rem;margin:.8rem 0} th,td{padding:.25rem .6rem;border:1px solid #ddd}
th{background:#f4f4f4;text-align:left} td.n{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;margin:.6rem 0} .note{color:#a33} nav a{margin-right:1rem}
"""


def _cell(v: object) -> str:
    if isinstance(v, float):
        text = f"{v:,.0f}" if v.is_integer() and abs(v) >= 1000 else f"{v:.4g}"
        return f'<td class="n">{html.escape(text)}</td>'
    if isinstance(v, int) and not isinstance(v, bool):
        return f'<td class="n">{v:,}</td>'
    return f"<td>{html.escape('' if v is None else str(v))}</td>"


def _table(t: Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in t.headers)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in t.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(sections: list[Section], run_date: date, subtitle: str) -> str:
    nav = " ".join(f'<a href="#{s.key}">{html.escape(s.title)}</a>' for s in sections)
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Tailor report {run_date}"
             f"</title><style>{_STYLE}</style></head><body>",
             f"<h1>Tailor report, {run_date}</h1><p class=\"sub\">{html.escape(subtitle)}</p><nav>{nav}</nav>"]
    for s in sections:
        parts.append(f'<section id="{s.key}"><h2>{html.escape(s.title)}</h2>')
        if s.note:
            parts.append(f'<p class="note">{html.escape(s.note)}</p>')
        for alt, png in s.images:
            data = base64.b64encode(png).decode("ascii")
            parts.append(f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">')
        parts.extend(_table(t) for t in s.tables)
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)
