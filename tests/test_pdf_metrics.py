"""PDF text does not depend on the fonts of the machine: only the PDF's own metrics are measured.

PDFium's tight character boxes are the outlines of whatever font it finds
on the machine for a font the PDF names but does not embed (`一` was a box
1.3 points high on one machine, 0.01 on another), and so are the vertical
bounds of its loose boxes when the PDF gives no ascent and descent. Here
both are made absurd, as another machine's fonts could make them, and the
text must not change.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from reportlab.platypus import Paragraph, Spacer
from test_formats import BODY, INDENTED, LONG, TITLE, pdf_bytes, report_pdf

from pipeline.ingest.formats import to_text

PDFS: dict[str, Callable[[], bytes]] = {
    "report": report_pdf,
    "short lines": lambda: pdf_bytes([Paragraph(line, BODY) for line in ("一、专利", "二、商标", "三、地理标志")]),
    "indents and gaps": lambda: pdf_bytes([Paragraph("年度报告", TITLE), Paragraph(LONG, INDENTED),
                                           Spacer(1, 20), Paragraph(LONG, BODY), Paragraph("二、商标", BODY)]),
}


@pytest.mark.parametrize("name", sorted(PDFS))
def test_the_text_ignores_glyph_outlines_and_font_heights(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = PDFS[name]()
    expected = to_text(Path("r.pdf"), data)
    real = pdfium.PdfTextPage.get_charbox

    def other_machine(self: pdfium.PdfTextPage, index: int, loose: bool = False) -> tuple[float, ...]:
        if not loose:
            raise AssertionError("a tight glyph box was measured")
        left, bottom, right, top = real(self, index, loose=True)
        return left, bottom - 7.0 - index % 3, right, top + 5.0 + index % 2  # another font's ascent and descent

    monkeypatch.setattr(pdfium.PdfTextPage, "get_charbox", other_machine)
    assert to_text(Path("r.pdf"), data) == expected


def test_short_lines_are_paragraphs_by_the_pdf_metrics() -> None:
    """Each line ends two ems short of the longest: at least SHORT_LINE_EM, so each ends its paragraph."""
    text = to_text(Path("r.pdf"), PDFS["short lines"]())
    assert text == "一、专利\n\n二、商标\n\n三、地理标志\n"
