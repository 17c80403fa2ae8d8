"""The report page (tailor.reporting.page): self-contained, text escaped, rendered by Chromium. check_full_report
is used by test_cluster.py on a whole pipeline's report."""

from __future__ import annotations

import base64
import shutil
import subprocess
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tailor.reporting import figures as G
from tailor.reporting.page import Section, Table, render

RUN = date(2026, 11, 23)
PNG = b"\x89PNG\r\n\x1a\n"
SECTION_KEYS = ["quality", "segments", "value", "evaluation", "propensity", "rules", "campaigns", "runs"]


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


def test_a_page_embeds_its_images_and_escapes_its_text():
    png = G.bars(["a", "b"], [3.0, 1.0], "t", "x")
    page = render([Section("one", "One", images=[("bars", png)],
                           tables=[Table(["name", "n"], [["<script>x</script>", 1234]])])], RUN, "sub")
    got = parse(page)
    assert got.external == []
    assert got.sections["one"]["images"] == [png] and png.startswith(PNG)
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert '<td class="n">1,234</td>' in page


def check_full_report(path: Path) -> None:
    """Every section of a whole pipeline's report has at least one PNG and a table; nothing is fetched."""
    page = path.read_text()
    got = parse(page)
    assert got.external == []
    assert list(got.sections) == SECTION_KEYS
    for key, s in got.sections.items():
        assert s["images"] and all(png.startswith(PNG) for png in s["images"]), key
        assert s["tables"] >= 1, key
        assert not any(n.startswith("no ") for n in s["notes"]), (key, s["notes"])
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium:  # a headless screenshot of the page is not blank
        shot = path.with_suffix(".png")
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                        "--window-size=1200,2000", path.as_uri()], check=True, capture_output=True, timeout=120)
        from matplotlib.image import imread

        pixels = imread(shot)
        assert pixels.std() > 0.05


@pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("chromium-browser")), reason="no chromium")
def test_chromium_renders_a_page(tmp_path):
    page = render([Section("one", "One", images=[("bars", G.bars(["a"], [1.0], "t", "x"))])], RUN, "sub")
    path = tmp_path / "r.html"
    path.write_text(page)
    shot = tmp_path / "r.png"
    subprocess.run([shutil.which("chromium") or shutil.which("chromium-browser"), "--headless", "--no-sandbox",
                    f"--screenshot={shot}", path.as_uri()], check=True, capture_output=True, timeout=120)
    from matplotlib.image import imread

    assert imread(shot).std() > 0.05
