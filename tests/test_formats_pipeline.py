"""PDF, Word and HTML reports through the whole run: facts index the saved text."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline.runs.run import run

ROOT = Path(__file__).resolve().parent.parent
BODY = "2023年，全市新增注册商标3.98万件，同比增长12.5%。"


def _docx(path: Path) -> None:
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_heading("金华：知识产权年报", level=1)
    document.add_paragraph(BODY)
    document.save(str(path))


def _pdf(path: Path, text: str | None) -> None:
    pytest.importorskip("reportlab")
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    page = canvas.Canvas(str(path), pagesize=A4)
    if text is None:
        page.rect(100, 100, 200, 200, fill=1)  # an image-like page with no text layer
    else:
        page.setFont("STSong-Light", 12)
        page.drawString(72, 760, text)
    page.save()


def test_pdf_word_html_reports_end_to_end(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    _docx(raw / "word.docx")
    _pdf(raw / "text.pdf", BODY)
    _pdf(raw / "scan.pdf", None)
    (raw / "page.html").write_text(f"<html><body><nav>首页</nav><h1>年报</h1><p>{BODY}</p>"
                                   "<script>var x = '5万件';</script></body></html>", encoding="utf-8")
    out = tmp_path / "out"
    summary = run(raw, out, ROOT / "rules")
    assert [e.file for e in summary.failed] == ["scan.pdf"]
    assert "no text layer" in summary.failed[0].reason
    facts = pd.read_parquet(out / "facts")
    for doc in ("word.docx", "text.pdf", "page.html"):
        mine = facts[facts["doc"] == doc]
        assert sorted(mine["text"]) == ["12.5%", "3.98万件"], doc
        text = (out / "text" / f"{doc}.txt").read_text(encoding="utf-8")
        for row in mine.itertuples():
            assert text[row.start:row.end] == row.text
    documents = pd.read_parquet(out / "documents")
    assert set(documents["encoding"]) == {"docx", "pdf", "html"}
    errors = pd.read_parquet(out / "errors")
    assert "scan.pdf" in set(errors["file"])
