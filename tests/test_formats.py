"""PDF, Word and HTML reports to text: built here, read back, and fed to the extractor."""
from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import docx
import pypdfium2 as pdfium
import pytest
from docx.shared import Pt
from reportlab.lib.pagesizes import A4
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
)

from pipeline.facts.extract import extract_text
from pipeline.ingest.formats import FORMATS, CorruptError, EncryptedError, FormatError, NoTextError, to_text
from pipeline.rules.compiler import Rules

# A CID font every PDF viewer knows (Adobe-GB1): no font file needed, text extracts as Chinese.
pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
BODY = ParagraphStyle("body", fontName="STSong-Light", fontSize=11, leading=16, wordWrap="CJK")
INDENTED = ParagraphStyle("indented", parent=BODY, firstLineIndent=22)
TITLE = ParagraphStyle("title", fontName="STSong-Light", fontSize=18, leading=24)
LONG = (
    "2023年，全市新增注册商标3.98万件，同比增长31.7%。有效发明专利拥有量达到12345件，"
    "每万人高价值发明专利拥有量达11.29件，知识产权质押融资金额284亿元，继续保持全省前列。"
)


def pdf_bytes(story: list, **options: object) -> bytes:
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, **options).build(story)
    return out.getvalue()


def report_pdf() -> bytes:
    """Title, a paragraph that wraps over several lines, a table, a second page, page numbers."""

    def page_number(c: canvas.Canvas, _doc: object) -> None:
        c.setFont("STSong-Light", 9)
        c.drawCentredString(A4[0] / 2, 30, f"- {c.getPageNumber()} -")

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4)
    table = Table(
        [["地区", "有效发明专利（件）", "增长（%）"], ["金华市", "12345", "12.5"], ["义乌市", "3456", "-3.2"]],
        style=[("FONTNAME", (0, 0), (-1, -1), "STSong-Light")],
    )
    story = [
        Paragraph("2023年金华市知识产权发展状况", TITLE),
        Paragraph(LONG, INDENTED),
        Paragraph("第二段：全市专利授权量2.1万件。", INDENTED),
        Spacer(1, 12),
        table,
        PageBreak(),
        Paragraph("第二页：商标注册申请量5.6万件，同比下降5.2%。", INDENTED),
    ]
    doc.build(story, onFirstPage=page_number, onLaterPages=page_number)
    return out.getvalue()


def test_formats_lists_the_suffixes() -> None:
    assert {".pdf", ".docx", ".html", ".htm"} == FORMATS


def test_pdf_text_layer_paragraphs_headings_and_table_rows() -> None:
    text = to_text(Path("r.pdf"), report_pdf())
    assert text.endswith("。\n")
    blocks = text.rstrip("\n").split("\n\n")
    assert blocks[0] == "# 2023年金华市知识产权发展状况"
    assert blocks[1] == LONG  # wrapped lines joined back into one paragraph, nothing lost
    assert blocks[2] == "第二段：全市专利授权量2.1万件。"  # first-line indent opens a paragraph
    assert blocks[3] == "地区\t有效发明专利（件）\t增长（%）\n金华市\t12345\t12.5\n义乌市\t3456\t-3.2"
    assert blocks[4] == "第二页：商标注册申请量5.6万件，同比下降5.2%。"
    assert "- 1 -" not in text and "- 2 -" not in text  # page numbers are chrome


def test_pdf_short_lines_stay_separate_paragraphs() -> None:
    story = [Paragraph(line, BODY) for line in ("一、专利", "二、商标", "三、地理标志")]
    assert to_text(Path("r.pdf"), pdf_bytes(story)) == "一、专利\n\n二、商标\n\n三、地理标志\n"


def test_pdf_without_text_layer_is_reported_not_empty() -> None:
    out = io.BytesIO()
    c = canvas.Canvas(out)
    c.rect(100, 100, 300, 400, fill=1)  # what a scan looks like to a text extractor: no glyphs
    c.showPage()
    c.circle(200, 300, 50)
    c.save()
    with pytest.raises(NoTextError) as caught:
        to_text(Path("scans/scan.pdf"), out.getvalue())
    assert "no text layer" in caught.value.reason and "2 pages" in caught.value.reason
    assert "scans/scan.pdf" in str(caught.value)


def test_encrypted_pdf_needs_a_password() -> None:
    out = io.BytesIO()
    c = canvas.Canvas(out, encrypt=StandardEncryption("user-secret", "owner-secret"))
    c.drawString(100, 700, "figures 12 items")
    c.save()
    with pytest.raises(EncryptedError, match="encrypted PDF"):
        to_text(Path("locked.pdf"), out.getvalue())


def test_pdf_with_only_an_owner_password_is_read() -> None:
    out = io.BytesIO()
    c = canvas.Canvas(out, encrypt=StandardEncryption("", "owner-secret", canCopy=0))
    c.setFont("STSong-Light", 12)
    c.drawString(100, 700, "专利授权量2.1万件")
    c.save()
    assert to_text(Path("restricted.pdf"), out.getvalue()) == "专利授权量2.1万件\n"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"%PDF-1.4\n garbage", "not a readable PDF"),
        (b"", "empty file"),
        (b"<html>not a pdf</html>", "not a readable PDF"),
    ],
)
def test_corrupt_pdf_names_the_file(data: bytes, reason: str) -> None:
    with pytest.raises(CorruptError, match=reason) as caught:
        to_text(Path("raw/bad.pdf"), data)
    assert str(caught.value).startswith("raw/bad.pdf: ")


def test_truncated_pdf_is_corrupt() -> None:
    data = report_pdf()
    with pytest.raises(CorruptError):
        to_text(Path("cut.pdf"), data[: len(data) // 3])


def docx_bytes(document: docx.document.Document) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_docx_headings_paragraphs_and_tables_in_order() -> None:
    d = docx.Document()
    d.add_heading("2023年知识产权白皮书", level=0)
    d.add_heading("一、专利", level=1)
    d.add_paragraph("全市新增注册商标3.98万件，同比增长31.7%。")
    table = d.add_table(rows=4, cols=3)
    table.cell(0, 0).merge(table.cell(0, 2)).text = "表1 各地区专利"
    for r, row in enumerate([["地区", "数量（件）", "增长（%）"], ["金华市", "12345", "12.5"], ["", "3456", "-3.2"]], 1):
        for c, value in enumerate(row):
            if value:
                table.cell(r, c).text = value
    table.cell(2, 0).merge(table.cell(3, 0))  # a row label merged down two rows
    run = d.add_paragraph().add_run("结尾：质押融资284亿元。")
    run.font.size = Pt(12)
    d.add_paragraph("")  # empty paragraphs leave no trace
    assert to_text(Path("w.docx"), docx_bytes(d)) == (
        "# 2023年知识产权白皮书\n\n# 一、专利\n\n全市新增注册商标3.98万件，同比增长31.7%。\n\n"
        "表1 各地区专利\n地区\t数量（件）\t增长（%）\n金华市\t12345\t12.5\n金华市\t3456\t-3.2\n\n"
        "结尾：质押融资284亿元。\n"
    )


def test_docx_heading_levels() -> None:
    d = docx.Document()
    d.add_heading("第二节", level=2)
    d.add_paragraph("正文")
    assert to_text(Path("w.docx"), docx_bytes(d)) == "## 第二节\n\n正文\n"


def test_docx_errors_say_what_the_file_is() -> None:
    with pytest.raises(CorruptError, match="not a readable .docx"):
        to_text(Path("w.docx"), b"PK\x03\x04 not really a zip")
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
    with pytest.raises(CorruptError, match="legacy Word .doc"):
        to_text(Path("old.docx"), ole)
    with pytest.raises(EncryptedError, match="encrypted Word"):
        to_text(Path("locked.docx"), ole + "EncryptionInfo".encode("utf-16-le"))
    with pytest.raises(NoTextError, match="empty.docx: no text"):
        to_text(Path("empty.docx"), docx_bytes(docx.Document()))


HTML = """<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>金华市人民政府 - 知识产权报告</title>
<style>p { color: red }</style><script>var hidden = "99件";</script></head>
<body><nav><a href="/">首页</a><a href="/news">新闻中心</a></nav>
<div style="display: none">隐藏内容88件</div>
<div class="article"><h1>2023年金华市
知识产权发展状况</h1>
<p>2023年，全市新增注册商标<b>3.98万件</b>，同比
增长31.7%。<br>专利授权量2.1万件 &lt;script&gt; 不是标签。</p>
<ul><li>一、专利</li><li>二、商标</li></ul>
<table>
<tr><th colspan="3">表1 各地区专利情况</th></tr>
<tr><th rowspan="2">地区</th><th colspan="2">2023年</th></tr>
<tr><th>有效发明专利（件）</th><th>增长（%）</th></tr>
<tr><td>金华市</td><td>12345</td><td>12.5</td></tr>
<tr><td>义乌市</td><td>3456</td><td>-3.2
</table>
<p>未闭合的段落<div>仍然可读</div>
</div></body></html>"""


def test_html_body_text_without_chrome() -> None:
    text = to_text(Path("page.html"), HTML.encode("gb18030"))
    assert text == (
        "# 2023年金华市知识产权发展状况\n\n"
        "2023年，全市新增注册商标3.98万件，同比增长31.7%。\n专利授权量2.1万件 <script> 不是标签。\n\n"
        "一、专利\n\n二、商标\n\n"
        "表1 各地区专利情况\n地区\t2023年\t2023年\n地区\t有效发明专利（件）\t增长（%）\n"
        "金华市\t12345\t12.5\n义乌市\t3456\t-3.2\n\n"
        "未闭合的段落\n\n仍然可读\n"
    )
    for chrome in ("首页", "99件", "88件", "color"):
        assert chrome not in text


def test_html_title_heads_a_page_without_h1_and_utf8_needs_no_declaration() -> None:
    page = "<html><head><title>年度报告</title></head><body><p>商标 5.6 万件</p></body></html>"
    assert to_text(Path("p.htm"), page.encode("utf-8")) == "# 年度报告\n\n商标 5.6 万件\n"


def test_html_errors() -> None:
    with pytest.raises(NoTextError, match="script.html: no text"):
        to_text(Path("script.html"), b"<html><body><script>var a = 1;</script></body></html>")
    with pytest.raises(CorruptError, match="binary"):
        to_text(Path("bin.html"), b"\x00\x01\x02<html>")
    with pytest.raises(ValueError, match="unsupported format '.xls'"):
        to_text(Path("sheet.xls"), b"data")


def test_errors_carry_a_reason_for_the_run_report() -> None:
    with pytest.raises(FormatError) as caught:
        to_text(Path("a.pdf"), b"junk")
    assert caught.value.reason.startswith("not a readable PDF") and caught.value.path == Path("a.pdf")


@pytest.mark.parametrize("kind", ["pdf", "docx", "html"])
def test_extracted_text_feeds_the_extractor_with_traceable_offsets(kind: str, rules: Rules) -> None:
    """Facts found in each format's text point at its characters, table cells included."""
    if kind == "pdf":
        data = report_pdf()
    elif kind == "docx":
        d = docx.Document()
        d.add_paragraph(LONG)
        t = d.add_table(rows=2, cols=3)
        for c, value in enumerate(["地区", "有效发明专利（件）", "增长（%）"]):
            t.cell(0, c).text = value
        for c, value in enumerate(["金华市", "12345", "12.5"]):
            t.cell(1, c).text = value
        data = docx_bytes(d)
    else:
        data = HTML.encode("gb18030")
    text = to_text(Path(f"r.{kind}"), data)
    facts = extract_text(text, rules, published=date(2024, 3, 1))
    assert facts, text
    for fact in facts:
        assert text[fact.start : fact.end] == fact.text
    found = {(f.text, f.unit) for f in facts}
    assert ("3.98万件", "件") in found
    assert ("12345", "件") in found  # a table cell, unit from its column header


def test_pdf_two_columns_over_pages_keep_their_paragraphs() -> None:
    """Columns read in order, lines joined across column and page breaks, a wrapped number kept whole."""
    paragraphs = [
        f"第{i}段：2023年，全市新增注册商标{i}.98万件，同比增长31.{i}%，有效发明专利拥有量达到{i}2345件，"
        "继续保持全省前列，知识产权工作取得新成效。" * 3
        for i in range(1, 16)
    ]
    out = io.BytesIO()
    doc = BaseDocTemplate(out, pagesize=A4)
    width, height = A4
    column = (width - 100) / 2
    doc.addPageTemplates([PageTemplate(frames=[
        Frame(40, 40, column, height - 80, id="left"), Frame(60 + column, 40, column, height - 80, id="right"),
    ])])
    indented = ParagraphStyle("small", parent=INDENTED, fontSize=10.5, leading=15, firstLineIndent=21)
    doc.build([Paragraph(text, indented) for text in paragraphs])
    assert len(pdfium.PdfDocument(out.getvalue())) == 2
    assert to_text(Path("columns.pdf"), out.getvalue()) == "\n\n".join(paragraphs) + "\n"
