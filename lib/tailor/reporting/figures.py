"""The report's figures, drawn with matplotlib's object API (no pyplot state, no display) from small lists
that the report job has already aggregated in Spark. Each function returns a PNG as bytes."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure

_DPI = 96


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight")
    return buf.getvalue()


def bars(labels: Sequence[str], values: Sequence[float], title: str, xlabel: str) -> bytes:
    """Horizontal bars, largest at the top."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    fig = Figure(figsize=(7, 0.35 * max(len(values), 3) + 1))
    ax = fig.subplots()
    ax.barh([labels[i] for i in order], [values[i] for i in order], color="#4c72b0")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    for i, v in enumerate(values[j] for j in order):
        ax.annotate(f"{v:,.0f}" if float(v).is_integer() else f"{v:.3g}", (v, i), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=8)
    return _png(fig)


def heatmap(rows: Sequence[str], cols: Sequence[str], values: Sequence[Sequence[float]], title: str) -> bytes:
    """Each column standardised across rows (z-scores), so features on different scales share one colour map;
    cells are labelled with the raw value."""
    z = []
    for j in range(len(cols)):
        col = [values[i][j] for i in range(len(rows))]
        mean = sum(col) / len(col)
        sd = math.sqrt(sum((v - mean) ** 2 for v in col) / len(col)) or 1.0
        z.append([(v - mean) / sd for v in col])
    grid = [[z[j][i] for j in range(len(cols))] for i in range(len(rows))]
    fig = Figure(figsize=(1.0 + 0.9 * len(cols), 1.0 + 0.45 * len(rows)))
    ax = fig.subplots()
    im = ax.imshow(grid, cmap="RdBu_r", vmin=-2, vmax=2, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    for i in range(len(rows)):
        for j in range(len(cols)):
            ax.text(j, i, f"{values[i][j]:.3g}", ha="center", va="center", fontsize=7)
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="z-score across segments")
    return _png(fig)


def curves(panels: Mapping[str, Mapping[str, Sequence[tuple[float, float]]]], xlabel: str,
           ylabel: str | None = None, diagonal: bool = False) -> bytes:
    """One plot per panel (its title), side by side, with one line per series (points sorted by x); the y
    label is ``ylabel``, else the panel's title."""
    fig = Figure(figsize=(5.2 * len(panels), 4))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (name, lines) in zip(axes, panels.items(), strict=True):
        for label, pts in sorted(lines.items()):
            pts = sorted(pts)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", markersize=3, label=label)
        if diagonal:
            ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
        ax.set_title(name)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel or name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return _png(fig)


def grouped_bars(groups: Sequence[str], series: Mapping[str, Sequence[float]], title: str, ylabel: str,
                 errors: Mapping[str, Sequence[tuple[float, float]]] | None = None, baseline: float | None = None
                 ) -> bytes:
    """Bars for each group, one colour per series; ``errors`` gives (low, high) per bar."""
    n = max(len(series), 1)
    width = 0.8 / n
    # at most 9 inches wide, the page's width: more bars get thinner, not a wider image shrunk to tiny text
    fig = Figure(figsize=(min(9.0, max(5.0, 0.45 * len(groups) * n + 2)), 4))
    ax = fig.subplots()
    for s, (name, values) in enumerate(series.items()):
        xs = [g + (s - (n - 1) / 2) * width for g in range(len(groups))]
        ax.bar(xs, values, width=width, label=name)
        if errors and name in errors:
            lo = [v - e[0] for v, e in zip(values, errors[name], strict=True)]
            hi = [e[1] - v for v, e in zip(values, errors[name], strict=True)]
            ax.errorbar(xs, values, yerr=[lo, hi], fmt="none", ecolor="black", capsize=3)
    if baseline is not None:
        ax.axhline(baseline, color="grey", linestyle=":", linewidth=1)
    ax.set_xticks(range(len(groups)), groups, rotation=20, ha="right", fontsize=8)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return _png(fig)


def scatter(x: Sequence[float], y: Sequence[float], c: Sequence[float], title: str, xlabel: str, ylabel: str,
            clabel: str) -> bytes:
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    pts = ax.scatter(x, y, c=c, cmap="viridis", s=14)
    fig.colorbar(pts, ax=ax, label=clabel)
    ax.set_xscale("log")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return _png(fig)


def timeline(jobs: Sequence[str], starts: Sequence[float], durations: Sequence[float], ok: Sequence[bool],
             title: str) -> bytes:
    """One bar per job run from its start (seconds after the first start), green when it succeeded."""
    fig = Figure(figsize=(7, 0.3 * max(len(jobs), 3) + 1))
    ax = fig.subplots()
    ys = list(range(len(jobs)))[::-1]
    span = max([s + d for s, d in zip(starts, durations, strict=True)] or [1.0])
    ax.barh(ys, [max(d, span / 150) for d in durations], left=starts,  # a job of 0.4 s is still a visible bar
            color=["#55a868" if o else "#c44e52" for o in ok])
    ax.set_yticks(ys, jobs, fontsize=8)
    ax.set_xlabel("seconds since the first job started")
    ax.set_title(title)
    return _png(fig)
