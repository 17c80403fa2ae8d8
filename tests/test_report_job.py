"""The report job on an empty warehouse: a note per section saying which job to run."""

from __future__ import annotations

import base64
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

from tailor.jobs import report

RUN = date(2026, 11, 23)
SECTION_KEYS = ["quality", "segments", "evaluation", "propensity", "rules", "campaigns", "runs"]


class _Sections(HTMLParser):
    """section id -> {"images": decoded PNGs, "notes": texts}; also every external reference seen."""

    def __init__(self):
        super().__init__()
        self.sections: dict[str, dict] = {}
        self.current: str | None = None
        self.external: list[str] = []
        self._in_note = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.current = a["id"]
            self.sections[self.current] = {"images": [], "notes": [], "tables": 0}
        elif tag == "img":
            src = a.get("src", "")
            if src.startswith("data:image/png;base64,"):
                self.sections[self.current]["images"].append(base64.b64decode(src.split(",", 1)[1]))
            else:
                self.external.append(src)
        elif tag in ("link", "script") and (a.get("href") or a.get("src")):
            self.external.append(a.get("href") or a.get("src"))
        elif tag == "table" and self.current:
            self.sections[self.current]["tables"] += 1
        elif tag == "p" and a.get("class") == "note":
            self._in_note = True

    def handle_data(self, data):
        if self._in_note and self.current:
            self.sections[self.current]["notes"].append(data)

    def handle_endtag(self, tag):
        if tag == "p":
            self._in_note = False
        if tag == "section":
            self.current = None


def parse(page: str) -> _Sections:
    p = _Sections()
    p.feed(page)
    return p


def test_an_empty_warehouse_gives_a_note_per_section(spark, cfg):
    summary = report.run(spark, cfg, RUN)
    assert summary.metrics["sections"] == 7 and summary.metrics["images"] == 0
    page = Path(report.output_path(cfg, RUN).removeprefix("file:")).read_text()
    got = parse(page)
    assert list(got.sections) == SECTION_KEYS
    notes = {k: " ".join(v["notes"]) for k, v in got.sections.items()}
    assert notes["quality"] == "no successful ingest rows for this run date: run `tailor ingest`"
    assert notes["propensity"] == "no model_metrics rows for this run date: run `tailor train-propensity`"
    assert notes["runs"] == "no runs rows for this run date: run `tailor pipeline`"


