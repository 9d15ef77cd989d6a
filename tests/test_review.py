"""The review site: written from a published output, checked as HTML and in headless Chromium."""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import lxml.html
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pipeline.views.review
from pipeline.records import Fact
from pipeline.storage.paths import FACTS_DIR, REVIEW_DIR
from pipeline.storage.versions import FactWriter, StagedOutput, documents_table, facts_table, publish
from pipeline.views.review import text_path, write_review
from pipeline.views.review.data import _numbers, fact_groups
from pipeline.views.review.pages import escape, highlight, script_json

HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>"
TEXT_A = f"2023年，金华市新增注册商标3.98万件，同比增长31.7%。\n\n{HOSTILE}\n杭州市专利授权量2.1万件。"
TEXT_B = "# 报告乙\n\n2022年，杭州市新增注册商标2.5万件。"
TEXT_C = "丙报告：宁波市专利5000件。"
DOC_A, DOC_B, DOC_C = "a/000_report.txt", "b.pdf", "c.txt"


def fact(doc: str, text: str, mention: str, value: float, unit: str, **changes: Any) -> Fact:
    start = changes.pop("start", text.index(mention))
    fields: dict[str, Any] = {
        "doc": doc, "doc_id": f"id{abs(hash(doc)) % 10**8:08d}", "start": start, "end": start + len(mention),
        "text": mention, "value": value, "unit": unit, "dimension": "count", "qualifier": "exact", "type": "level",
        "metric": "新增注册商标", "metric_id": None, "region": "金华市", "region_code": None, "period": "2023",
        "sentence": mention, "rule": "unit.count.classifier", "rules_version": "rv-test",
    }
    fields.update(changes)
    return Fact(**fields)


def sample_facts() -> list[Fact]:
    return [
        fact(DOC_A, TEXT_A, "3.98万件", 39800.0, "件"),
        fact(DOC_A, TEXT_A, "31.7%", 31.7, "%", type="change", dimension="percent", metric="<b>注册</b>商标"),
        fact(DOC_A, TEXT_A, "2.1万件", 21000.0, "件", region="杭州市"),
        fact(DOC_A, TEXT_A, "万件", 10000.0, "件", start=TEXT_A.index("2.1万件") + 3, rule="overlap.test",
             region=None, period=None),
        fact(DOC_B, TEXT_B, "2.5万件", 25000.0, "件", region="杭州市", period="2022"),
        fact(DOC_B, TEXT_B, "报告", 1.0, "x", start=0, rule="stale.offsets"),  # text[0:2] is "# "
        fact(DOC_C, TEXT_C, "5000件", 5000.0, "件", metric="专利", region="宁波市", period="2024"),
    ]


def documents(facts: list[Fact]) -> list[dict[str, Any]]:
    rows = []
    for doc, text, title in ((DOC_A, TEXT_A, "甲 <报告>"), (DOC_B, TEXT_B, None), (DOC_C, TEXT_C, "丙")):
        doc_facts = [f for f in facts if f.doc == doc]
        rows.append({
            "doc_id": doc_facts[0].doc_id, "file": doc, "title": title, "published": date(2024, 4, 26),
            "sha256": "0" * 64, "characters": len(text), "facts": len(doc_facts), "encoding": "utf-8",
        })
    return rows


@pytest.fixture()
def output(tmp_path: Path) -> Path:
    """A published output of three reports; b.pdf's text saved under text/, c.txt's nowhere."""
    out = tmp_path / "output"
    facts = sample_facts()
    publish(out, facts_table(facts), documents_table(documents(facts)), "rv-test")
    saved = text_path(out, DOC_B)
    saved.parent.mkdir(parents=True)
    saved.write_text(TEXT_B, encoding="utf-8")
    return out


def given_texts(doc: str) -> str:
    texts = {DOC_A: TEXT_A, DOC_B: "wrong text: the saved one must win"}
    if doc not in texts:
        raise FileNotFoundError(f"raw/{doc}")
    return texts[doc]


def page(path: Path) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(path.read_text(encoding="utf-8"))


def report_page(output: Path, doc: str) -> Path:
    doc_id = next(f.doc_id for f in sample_facts() if f.doc == doc)
    return output / REVIEW_DIR / "reports" / f"{doc_id}.html"


def data_facts(review: Path) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """The index's data files parsed back: (reports.js object, fact columns joined)."""
    head = (review / "data" / "reports.js").read_text(encoding="utf-8")
    match = re.fullmatch(r"window\.REVIEW=\{reports:(.*),dict:(.*),chunks:\[\]\};\n", head, re.S)
    assert match
    meta = {"reports": json.loads(match.group(1)), "dict": json.loads(match.group(2))}
    columns: dict[str, list[Any]] = {}
    for chunk_file in sorted((review / "data").glob("facts-*.js")):
        chunk = json.loads(chunk_file.read_text(encoding="utf-8")[len("REVIEW.chunks.push(") : -3])
        for name, values in chunk.items():
            columns.setdefault(name, []).extend(values)
    return meta, columns


def test_index_lists_reports_with_fact_counts_and_status(output: Path) -> None:
    index = write_review(output, texts=given_texts)
    assert index == output / "review" / "index.html"
    tree = page(index)
    rows = {
        tr.xpath("td[1]")[0].text_content(): [td.text_content() for td in tr.xpath("td")]
        for tr in tree.xpath('//table[@id="reports-table"]/tbody/tr')
    }
    assert rows[DOC_A][1] == "甲 <报告>" and rows[DOC_A][4] == "4" and rows[DOC_A][5] == "ok"
    assert rows[DOC_B][4] == "2" and rows[DOC_B][5] == "1 mismatched"
    assert rows[DOC_C][5] == "missing"
    link = tree.xpath('//table[@id="reports-table"]//a')[0].get("href")
    assert (index.parent / link).is_file()
    assert tree.get_element_by_id("fact-total").text == "7"
    assert "1 report(s) have no text" in tree.text_content()
    assert "<报告>" not in index.read_text(encoding="utf-8")  # the title is escaped in the markup


def test_index_data_holds_every_fact(output: Path) -> None:
    write_review(output, texts=given_texts)
    meta, columns = data_facts(output / REVIEW_DIR)
    assert [r[0] for r in meta["reports"]] == [DOC_A, DOC_B, DOC_C]
    assert len(columns["text"]) == 7
    rows = {
        (meta["reports"][r][0], t, v, meta["dict"]["metric"][m] if m >= 0 else None)
        for r, t, v, m in zip(columns["report"], columns["text"], columns["value"], columns["metric"])
    }
    assert (DOC_A, "31.7%", 31.7, "<b>注册</b>商标") in rows
    assert (DOC_C, "5000件", 5000, "专利") in rows
    assert meta["dict"]["type"] == ["change", "level"]
    raw = (output / REVIEW_DIR / "data" / "reports.js").read_text(encoding="utf-8")
    assert "<b>" not in raw and "\\u003cb\\u003e" in raw  # cannot close a script block


def test_report_page_highlights_every_fact_and_keeps_the_text(output: Path) -> None:
    write_review(output, texts=given_texts)
    html = report_page(output, DOC_A).read_text(encoding="utf-8")
    assert HOSTILE not in html and "&lt;script&gt;alert(&#x27;x&#x27;)" not in html
    tree = lxml.html.fromstring(html)
    text = tree.get_element_by_id("text")
    assert text.text_content() == TEXT_A  # highlighting adds no character and loses none
    assert not tree.xpath('//img') and len(tree.xpath("//script")) == 2  # data block + report.js
    marks = {mark.text_content(): mark for mark in text.xpath(".//mark")}
    assert marks["3.98万件"].get("id") == "f0" and "t-level" in marks["3.98万件"].get("class")
    tip = marks["31.7%"].get("title")
    for shown in ("31.7% = 31.7 %", "metric: <b>注册</b>商标", "region: 金华市", "period: 2023",
                  "type: change (exact)", "rule: unit.count.classifier"):
        assert shown in tip
    assert marks["2.1"].get("data-f") == "2"  # 2.1万件 and 万件 overlap: the text is cut in pieces
    assert marks["万件"].get("data-f") == "2 3" and "multi" in marks["万件"].get("class")
    data = json.loads(tree.get_element_by_id("facts-data").text)
    assert [d["text"] for d in data] == ["3.98万件", "31.7%", "2.1万件", "万件"]
    assert data[1]["metric"] == "<b>注册</b>商标"


def test_saved_text_wins_and_stale_offsets_are_flagged(output: Path) -> None:
    write_review(output, texts=given_texts)
    tree = page(report_page(output, DOC_B))
    assert tree.get_element_by_id("text").text_content() == TEXT_B
    assert "text: text/b.pdf.txt" in tree.text_content()  # relative to the output, however it was spelled
    assert "1 fact(s) do not match this text" in tree.get_element_by_id("mismatch").text_content()
    assert [m.text_content() for m in tree.xpath("//mark[@data-f]")] == ["2.5万件"]
    assert tree.xpath('//tr[@data-k="0"]')[0].get("class") == "bad"  # sorted by start: "报告" first


def test_report_without_text_still_lists_its_facts(output: Path) -> None:
    write_review(output, texts=given_texts)
    tree = page(report_page(output, DOC_C))
    assert "Text not available: cannot read the text: raw/c.txt" in tree.text_content()
    assert [td.text_content() for td in tree.xpath('//tr[@data-k="0"]/td')][1:4] == ["5000件", "5,000", "件"]


def test_texts_as_a_mapping_and_none(output: Path) -> None:
    write_review(output, texts={DOC_A: TEXT_A})
    assert "no text given for this report" in page(report_page(output, DOC_C)).text_content()
    write_review(output)
    assert "no saved text" in page(report_page(output, DOC_A)).text_content()


def test_charts_are_inline_svg(output: Path) -> None:
    tree = page(write_review(output, texts=given_texts))
    captions = [c.text_content() for c in tree.xpath('//section[@id="charts"]//figcaption')]
    assert captions[:3] == ["Facts by metric", "Facts by region", "Facts by year"]
    assert "新增注册商标 (件) by year" in captions  # 金华市 2023 and 杭州市 2022 + 2023
    years = tree.xpath('//figure[figcaption="Facts by year"]//title/text()')
    assert years == ["2022: 1", "2023: 4", "2024: 1"]
    assert not tree.xpath("//*[@src and starts-with(@src, 'http')]")  # nothing from the network


def test_rewrite_replaces_the_whole_review(output: Path, tmp_path: Path) -> None:
    write_review(output, texts=given_texts)
    old_page = report_page(output, DOC_C)
    facts = [f for f in sample_facts() if f.doc != DOC_C]
    publish(output, facts_table(facts), documents_table(documents(sample_facts())[:2]), "rv-test")
    write_review(output, texts=given_texts)
    assert not old_page.exists()
    assert sorted(p.name for p in output.iterdir() if "review" in p.name) == ["review"]


def test_empty_output_and_missing_output(tmp_path: Path) -> None:
    out = tmp_path / "empty"
    publish(out, facts_table([]), documents_table([]), "rv")
    tree = page(write_review(out))
    assert tree.get_element_by_id("fact-total").text == "0"
    assert "No facts to chart." in tree.text_content()
    with pytest.raises(FileNotFoundError, match="nowhere/facts: no Parquet dataset"):
        write_review(tmp_path / "nowhere")


def publish_in_files(out: Path, parts: list[list[Fact]]) -> None:
    """Publish the sample output with its facts split over several files, in the given groups."""
    with StagedOutput(out, "rv-test") as staged:
        for number, part in enumerate(parts):
            writer = FactWriter(staged.facts_dir, "rv-test", prefix=f"part{number}")
            writer.add(facts_table(part))
            writer.close()
        staged.document_writer().add(documents_table(documents(sample_facts())))
        staged.commit()
    saved = text_path(out, DOC_B)
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(TEXT_B, encoding="utf-8")


def review_files(review: Path) -> dict[str, str]:
    """The review's files, with the time of writing masked (pages name saved texts relative to the output)."""
    return {str(p.relative_to(review)): re.sub(r"generated [^<]* UTC", "generated T", p.read_text(encoding="utf-8"))
            for p in sorted(review.rglob("*")) if p.is_file()}


def test_facts_read_a_file_group_at_a_time_give_the_same_review(
    output: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Segments follow each other in report order; files whose reports overlap are read together."""
    facts = sample_facts()
    a, b, c = ([f for f in facts if f.doc == doc] for doc in (DOC_A, DOC_B, DOC_C))
    split = tmp_path / "split"
    publish_in_files(split, [c, b[1:], a[2:] + b[:1], a[:2]])  # a and b spread over two files each
    groups = fact_groups((split / FACTS_DIR).resolve())
    assert [[p.name.split("-")[0] for p in group] for group in groups] == [["part1", "part2", "part3"], ["part0"]]

    monkeypatch.setattr(pipeline.views.review, "FACT_CHUNK", 3)  # chunks span file groups
    whole = review_files(write_review(output, texts=given_texts).parent)
    parts = review_files(write_review(split, texts=given_texts).parent)
    assert parts == whole
    assert sorted(name for name in whole if name.startswith("data/facts-")) == [
        "data/facts-00000.js", "data/facts-00001.js", "data/facts-00002.js"]
    _, columns = data_facts(split / REVIEW_DIR)
    assert len(columns["text"]) == 7 and columns["k"] == [0, 1, 2, 3, 0, 1, 0]


def test_highlight_and_script_json_units() -> None:
    html, bad = highlight("a<b>c", [
        {"start": 1, "end": 4, "text": "<b>", "type": "level", "value": 1.0, "unit": "x", "metric": None,
         "region": None, "period": None, "qualifier": "exact", "rule": "r"},
        {"start": 9, "end": 12, "text": "zzz", "type": "level", "value": 1.0, "unit": "x", "metric": None,
         "region": None, "period": None, "qualifier": "exact", "rule": "r"},
    ])
    assert html.startswith('a<mark id="f0"') and html.endswith(">&lt;b&gt;</mark>c") and bad == [1]
    assert script_json({"x": "</script><!--"}) == '{"x":"\\u003c/script\\u003e\\u003c!--"}'


# --- in a real browser -------------------------------------------------------------

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def browser() -> str | None:
    return os.environ.get("REVIEW_BROWSER") or next(filter(None, map(shutil.which, BROWSERS)), None)


needs_browser = pytest.mark.skipif(
    browser() is None,
    reason="no headless Chromium on this machine (apt-get install chromium); .ci/run installs it",
)


def dump_dom(url: str, profile: Path) -> lxml.html.HtmlElement:
    """The DOM after the page's scripts ran, as headless Chromium serialises it."""
    command = [
        str(browser()), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--virtual-time-budget=5000", f"--user-data-dir={profile}", "--dump-dom", url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    assert "<html" in done.stdout, done.stderr[-2000:]
    return lxml.html.fromstring(done.stdout)


@needs_browser
def test_browser_builds_the_facts_table_and_filters_it(output: Path, tmp_path: Path) -> None:
    index = write_review(output, texts=given_texts)
    dom = dump_dom(index.as_uri(), tmp_path / "profile")
    rows = dom.xpath('//table[@id="facts-table"]/tbody/tr')
    assert len(rows) == 7
    assert dom.get_element_by_id("fact-count").text_content() == "7 facts"
    cells = {tuple(td.text_content() for td in row.xpath("td")) for row in rows}
    assert (DOC_A, "31.7%", "31.7", "%", "<b>注册</b>商标", "金华市", "2023", "change", "exact",
            "unit.count.classifier") in cells
    assert not dom.xpath("//table[@id='facts-table']//b")  # data became text, not markup
    assert dom.xpath('//select[@name="type"]/option/@value') == ["", "change", "level"]

    dom = dump_dom(index.as_uri() + "#region=%E6%9D%AD%E5%B7%9E%E5%B8%82&type=level", tmp_path / "profile")
    rows = dom.xpath('//table[@id="facts-table"]/tbody/tr')
    assert sorted(row.xpath("td[2]")[0].text_content() for row in rows) == ["2.1万件", "2.5万件"]
    assert dom.get_element_by_id("fact-count").text_content() == "2 of 7 facts match"
    link = rows[0].xpath("td[1]/a/@href")[0]
    assert re.fullmatch(r"reports/id\d{8}\.html#f\d", link)

    dom = dump_dom(index.as_uri() + "#metric=%E6%B3%A8%E5%86%8C", tmp_path / "profile")  # 注册: a substring
    assert dom.get_element_by_id("fact-count").text_content() == "6 of 7 facts match"


@needs_browser
def test_browser_report_page_shows_the_fact_in_the_hash(output: Path, tmp_path: Path) -> None:
    write_review(output, texts=given_texts)
    dom = dump_dom(report_page(output, DOC_A).as_uri() + "#f1", tmp_path / "profile")
    detail = dom.get_element_by_id("detail")
    shown = {dd.get("class"): dd.text_content() for dd in detail.xpath(".//dd")}
    assert shown == {
        "f-text": "31.7%", "f-value": "31.7", "f-unit": "%", "f-metric": "<b>注册</b>商标", "f-region": "金华市",
        "f-period": "2023", "f-type": "change", "f-qualifier": "exact", "f-rule": "unit.count.classifier",
        "f-dimension": "percent",
    }
    assert dom.xpath('//mark[contains(@class, "selected")]/text()') == ["31.7%"]
    assert not dom.xpath("//img") and dom.get_element_by_id("text").text_content() == TEXT_A


@needs_browser
def test_browser_pages_through_many_facts(tmp_path: Path) -> None:
    text = "，".join(f"{i}件" for i in range(1, 251)) + "。"
    facts = []
    position = 0
    for i in range(1, 251):
        mention = f"{i}件"
        position = text.index(mention, position)
        facts.append(fact("big.txt", text, mention, float(i), "件", start=position, doc_id="big"))
        position += len(mention)
    out = tmp_path / "out"
    publish(out, facts_table(facts), documents_table([]), "rv")
    dom = dump_dom(write_review(out, texts={"big.txt": text}).as_uri(), tmp_path / "profile")
    assert len(dom.xpath('//table[@id="facts-table"]/tbody/tr')) == 100
    assert "page 1 of 3" in dom.get_element_by_id("pager").text_content()
    assert (out / REVIEW_DIR / "reports" / "big.html").is_file()  # a report known only from its facts


@given(st.text(alphabet=st.sampled_from("ab专利&<>\"'; \n#x27")), st.booleans())
def test_escape_is_html_escape(text: str, quote: bool) -> None:
    """The shortcut for strings without markup characters changes nothing."""
    assert escape(text, quote) == html.escape(text, quote)


@given(st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True),
                          st.integers(-2**60, 2**60).map(float))))
def test_numbers_in_bulk_are_numbers_one_by_one(values: list[float | None]) -> None:
    """The bulk form the index's data files use gives each value as a plain one-by-one reading does."""

    def _number(value: float | None) -> float | int | None:  # the rule, one value at a time
        if value is None or value != value or value in (float("inf"), float("-inf")):
            return None
        return int(value) if value.is_integer() and abs(value) < 2**53 else value

    column = pa.chunked_array([pa.array(values, pa.float64())])
    bulk = _numbers(column)
    single = [_number(v) for v in values]
    assert [(type(v), v) for v in bulk] == [(type(v), v) for v in single]
