"""The report's figures (tailor.reporting.figures) draw from small lists."""

from __future__ import annotations

from tailor.reporting import figures as G

PNG = b"\x89PNG\r\n\x1a\n"


def test_figures_draw_from_small_lists():
    for png in (G.heatmap(["s1", "s2"], ["f1", "f2"], [[1.0, 10.0], [3.0, 30.0]], "h"),
                G.curves({"roc": {"a": [(0.0, 0.0), (0.5, 0.8), (1.0, 1.0)]}}, "fpr", "tpr", diagonal=True),
                G.grouped_bars(["c1"], {"control": [0.1], "treatment": [0.2]}, "t", "rate",
                               errors={"treatment": [(0.15, 0.25)]}),
                G.scatter([0.01, 0.02], [0.5, 0.6], [2.0, 3.0], "r", "s", "c", "l"),
                G.timeline(["ingest", "features"], [0.0, 5.0], [5.0, 2.0], [True, False], "t")):
        assert png.startswith(PNG) and len(png) > 2000


