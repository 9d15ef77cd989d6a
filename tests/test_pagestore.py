"""Review pages rendered in the chunk tasks, stored by key, hard-linked by the review."""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import lxml.html
import pytest
from stand_in import use_extractor

import pipeline.rules.compiler
import pipeline.runs.run
import pipeline.views.build
import pipeline.views.review.pages
from pipeline.records import Document, Fact
from pipeline.runs.manifest import read_manifest
from pipeline.runs.run import run
from pipeline.storage.parquet import document_row, documents_table, facts_table
from pipeline.storage.paths import PAGE_STORE, REVIEW_DIR
from pipeline.storage.versions import current_version
from pipeline.views.review import pagestore, write_review
from pipeline.views.review.data import Report, ReportText, load
from pipeline.views.review.pages import PageStatus
from pipeline.views.review.pagestore import PageStore, clean_page, page_key

ROOT = Path(__file__).resolve().parent.parent
COUNT = re.compile(r"(\d+)(件|项)")
CRLF = "2023年，金华市新增注册商标3.98万件。\r\n杭州市专利授权量2.1万件，\r\n同比增长31.7%。\r\n"


def stub_fact(doc: Document, start: int, end: int, text: str, value: float, unit: str) -> Fact:
    return Fact(
        doc=doc.file, doc_id=doc.doc_id, start=start, end=end, text=text, value=value, unit=unit,
        dimension="count", qualifier="exact", type="level", metric=None, metric_id=None, region=None,
        region_code=None, period=None, sentence=doc.text, rule=f"test.{unit}", rules_version="rv-1",
    )


def stub_extract(doc: Document, rules: SimpleNamespace) -> list[Fact]:
    """Every `N件` is a fact; a report saying STALE also gets one whose offsets miss its mention."""
    facts = [stub_fact(doc, m.start(), m.end(), m.group(), float(m.group(1)), m.group(2))
             for m in COUNT.finditer(doc.text)]
    if "STALE" in doc.text:
        facts.append(stub_fact(doc, 0, 2, "不对", 1.0, "件"))
    return facts


@pytest.fixture()
def extracted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Stand-in rules and extractor (as tests/test_run.py); returns the files extracted, in order."""
    seen: list[str] = []

    def extract(doc: Document, rules: SimpleNamespace) -> list[Fact]:
        seen.append(doc.file)
        return stub_extract(doc, rules)

    monkeypatch.setattr(pipeline.rules.compiler, "load_rules", lambda rules_dir: SimpleNamespace(version="rv-1"))
    use_extractor(monkeypatch, extract)
    return seen


@pytest.fixture()
def raw(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("新增商标12件，专利3件。", encoding="utf-8")
    (folder / "b.txt").write_text("授权5件。", encoding="utf-8")
    (folder / "sub" / "c.txt").write_text("没有数字。", encoding="utf-8")
    (folder / "stale.txt").write_text("STALE 7件", encoding="utf-8")
    return folder


def stored_pages(out: Path) -> dict[str, Path]:
    """doc -> where the published version's report's page is stored (whether it is there or not)."""
    store = PageStore(out)
    return {file: store.path(page_key(entry.key))
            for file, entry in read_manifest(current_version(out)).entries.items()}


def review_pages(out: Path) -> dict[str, Path]:
    return {report.doc: out / REVIEW_DIR / "reports" / report.page for report in load(out).reports}


def statuses(out: Path) -> dict[str, str]:
    """The index's text column per report: ok, missing or N mismatched."""
    tree = lxml.html.fromstring((out / REVIEW_DIR / "index.html").read_text(encoding="utf-8"))
    return {tr.xpath("td[1]")[0].text_content(): tr.xpath("td[6]")[0].text_content()
            for tr in tree.xpath('//table[@id="reports-table"]/tbody/tr')}


def store_files(out: Path) -> dict[str, int]:
    """Stored page name -> inode."""
    return {p.name: p.stat().st_ino for p in (out / PAGE_STORE).iterdir()}


@pytest.mark.parametrize("limits", [None, (3000, 40)], ids=["whole", "cut"])
def test_stored_pages_equal_the_pages_the_review_renders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limits: tuple[int, int] | None
) -> None:
    """On the sample reports (and one with CR LF line ends), however the output path is spelled;
    and with pages cut to their first characters and facts, as a very long report's is."""
    if limits is not None:
        monkeypatch.setattr(pipeline.views.review.pages, "PAGE_TEXT_MAX", limits[0])
        monkeypatch.setattr(pipeline.views.review.pages, "PAGE_FACTS_MAX", limits[1])
        monkeypatch.setattr(pagestore, "PAGE_FACTS_MAX", limits[1])
    raw = Path(shutil.copytree(ROOT / "raw", tmp_path / "raw"))
    (raw / "crlf.txt").write_bytes(CRLF.encode("utf-8"))
    out = tmp_path / "out"
    run(raw, out, ROOT / "rules")
    stored = {doc: path.read_bytes() for doc, path in stored_pages(out).items()}
    assert len(stored) == 6

    monkeypatch.chdir(tmp_path)
    write_review(Path("out"))  # no stored pages: every page rendered by the review, from the published output
    rendered = {doc: path.read_bytes() for doc, path in review_pages(out).items()}
    assert rendered == stored
    assert set(statuses(out).values()) == {"ok"}  # CR LF kept: the offsets slice the saved text
    assert sum(b'id="cut"' in page for page in stored.values()) == (0 if limits is None else 5)
    assert b"text: text/crlf.txt.txt" in stored["crlf.txt"]


@pytest.fixture()
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The reports whose page the review renders itself (the chunks render through pagestore's import).

    Runs build their views in this process here, where the recorder sees them
    (test_views checks that the child process writes the same review).
    """
    monkeypatch.setattr(pipeline.runs.run, "write_views_apart", pipeline.views.build.write_views)
    docs: list[str] = []
    render = pipeline.views.review.pages.report_page

    def report_page(report: Report, facts: list[dict[str, Any]], text: ReportText) -> tuple[str, PageStatus]:
        docs.append(report.doc)
        return render(report, facts, text)

    monkeypatch.setattr(pipeline.views.review.pages, "report_page", report_page)
    return docs


def test_run_links_stored_pages_and_a_rerun_stores_only_the_edited_report(
    extracted: list[str], rendered: list[str], raw: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run(raw, out, ROOT / "rules")
    assert rendered == ["stale.txt"]
    pages, reviewed = stored_pages(out), review_pages(out)
    for doc in ("a.txt", "b.txt", "sub/c.txt"):  # c.txt has no facts: still a clean page
        assert reviewed[doc].stat().st_ino == pages[doc].stat().st_ino
    assert not pages["stale.txt"].exists()  # a fact misses its mention: the review renders it
    assert reviewed["stale.txt"].stat().st_nlink == 1
    assert statuses(out) == {"a.txt": "ok", "b.txt": "ok", "stale.txt": "1 mismatched", "sub/c.txt": "ok"}
    first = store_files(out)
    assert len(first) == 3

    (raw / "a.txt").write_text("新增商标13件，专利3件。", encoding="utf-8")
    extracted.clear()
    rendered.clear()
    run(raw, out, ROOT / "rules")
    assert extracted == ["a.txt"] and rendered == ["stale.txt"]  # a.txt's new page was linked
    second = store_files(out)
    assert pages["a.txt"].name not in second  # collected: no review links it any more
    assert {n: i for n, i in second.items() if n in first} == {n: i for n, i in first.items()
                                                                if n != pages["a.txt"].name}
    assert len(second) == 3
    pages, reviewed = stored_pages(out), review_pages(out)
    for doc in ("a.txt", "b.txt", "sub/c.txt"):
        assert reviewed[doc].stat().st_ino == pages[doc].stat().st_ino == second[pages[doc].name]
    assert "13件" in reviewed["a.txt"].read_text(encoding="utf-8")

    run(raw, out, ROOT / "rules")  # nothing changed: the review is kept, and so are the pages it links
    assert store_files(out) == second


def test_a_deleted_stored_page_is_rendered_and_stored_again(extracted: list[str], raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(raw, out, ROOT / "rules")
    page = stored_pages(out)["b.txt"]
    before = page.read_bytes()
    page.unlink()
    (raw / "a.txt").write_text("新增商标13件。", encoding="utf-8")
    run(raw, out, ROOT / "rules")
    reviewed = review_pages(out)["b.txt"]
    assert reviewed.read_bytes() == before and statuses(out)["b.txt"] == "ok"
    assert page.stat().st_ino == reviewed.stat().st_ino  # the review's rendering is stored for the next one

    blocker = tmp_path / "blocker"  # a file: no page can be stored under it
    blocker.write_text("", encoding="utf-8")
    missing = {doc: blocker / f"{n}.html" for n, doc in enumerate(stored_pages(out))}
    linked = {doc: path.read_bytes() for doc, path in review_pages(out).items()}
    write_review(out, pages=missing)  # not there and cannot be stored: rendered, as without pages
    assert {doc: path.read_bytes() for doc, path in review_pages(out).items()} == linked
    assert statuses(out)["stale.txt"] == "1 mismatched"


def test_only_clean_pages_are_rendered_for_the_store(tmp_path: Path) -> None:
    text = "STALE 7件"
    doc = Document("id1", "x.txt", tmp_path / "x.txt", text, "0" * 64, "utf-8", title="<标题>")
    facts = facts_table(stub_extract(doc, SimpleNamespace(version="rv-1")))
    row = documents_table([document_row(doc, facts.num_rows)]).to_pylist()[0]
    assert clean_page(row, facts, text) is None  # the STALE fact's offsets slice "ST", not 不对
    clean = facts_table(stub_extract(doc, SimpleNamespace(version="rv-1"))[:1])
    html = clean_page(row, clean, text)
    assert html is not None and "&lt;标题&gt;" in html and 'data-f="0"' in html
    assert clean_page(row, clean, "7件 no longer where it was") is None

    many = Document("id2", "y.txt", tmp_path / "y.txt", "1件，2件，3件", "1" * 64, "utf-8")
    facts = stub_extract(many, SimpleNamespace(version="rv-1"))
    row = documents_table([document_row(many, len(facts))]).to_pylist()[0]
    html = clean_page(row, facts_table(facts[::-1]), many.text)  # rows as the review sorts them: by start
    assert html is not None and html == clean_page(row, facts_table(facts), many.text)
    assert html.index('id="f0"') < html.index('id="f1"') < html.index("2件")


def test_collect_removes_unlinked_pages_and_keeps_linked_ones(tmp_path: Path) -> None:
    store = PageStore(tmp_path / "out")
    store.save("kept", "<p>kept</p>")
    store.save("unused", "<p>unused</p>")
    store.save("kept", "<p>never written twice</p>")
    (store.root / "leftover.tmp123").write_text("half a page", encoding="utf-8")
    (tmp_path / "review").mkdir()
    (tmp_path / "review" / "page.html").hardlink_to(store.path("kept"))
    assert store.collect() == 2
    assert sorted(p.name for p in store.root.iterdir()) == ["kept.html"]
    assert store.path("kept").read_text(encoding="utf-8") == "<p>kept</p>"


def test_page_key_follows_the_report_key_and_the_review_code(monkeypatch: pytest.MonkeyPatch) -> None:
    real = page_key("report-1")
    assert real != page_key("report-2") and re.fullmatch(r"[0-9a-f]{32}", real)
    monkeypatch.setattr(pagestore, "review_code_version", lambda: "template-a")
    edited = page_key("report-1")
    assert edited != real
    monkeypatch.setattr(pagestore, "review_code_version", lambda: "template-b")
    assert page_key("report-1") != edited


def test_review_code_version_hashes_the_review_sources(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    version = pagestore.review_code_version.__wrapped__
    assert version() == pagestore.review_code_version()
    copy = Path(shutil.copytree(Path(pagestore.__file__).parent, tmp_path / "review"))
    monkeypatch.setattr(pagestore, "__file__", str(copy / "pagestore.py"))
    assert version() == pagestore.review_code_version()
    with open(copy / "pages.py", "a", encoding="utf-8") as handle:
        handle.write("\n# an edited template\n")
    assert version() != pagestore.review_code_version()


def test_a_long_report_page_shows_its_first_facts_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Limits made small: a page holds the first facts and the start of the text, and says what it left out."""
    monkeypatch.setattr(pipeline.views.review.pages, "PAGE_FACTS_MAX", 2)
    monkeypatch.setattr(pagestore, "PAGE_FACTS_MAX", 2)  # the chunks' renderer imports it by name
    long = Document("id3", "z.txt", tmp_path / "z.txt", "1件，2件，3件，4件，5件", "2" * 64, "utf-8")
    facts = facts_table(stub_extract(long, SimpleNamespace(version="rv-1")))
    row = documents_table([document_row(long, facts.num_rows)]).to_pylist()[0]

    html = clean_page(row, facts, long.text)
    assert html is not None
    assert "This page shows the first 2 of the report's 5 facts: the facts table has them all." in html
    assert 'data-k="1"' in html and 'data-k="2"' not in html
    assert "5件" in html  # all the text: only the facts were cut

    monkeypatch.setattr(pipeline.views.review.pages, "PAGE_TEXT_MAX", 7)  # "1件，2件，3件"[:7]: the third fact ends at 8
    html = clean_page(row, facts, long.text)
    assert html is not None and "first 2 of the report's 5 facts and 7 of its 14 characters" in html
    assert "4件" not in html.split('id="text"')[1]

    monkeypatch.setattr(pipeline.views.review.pages, "PAGE_TEXT_MAX", 6)
    html = clean_page(row, facts, long.text)
    assert html is not None and "first 2 of the report's 5 facts and 6 of its 14 characters" in html
    monkeypatch.setattr(pipeline.views.review.pages, "PAGE_TEXT_MAX", 4)  # "1件，2": the second fact no longer fits
    html = clean_page(row, facts, long.text)
    assert html is not None and "first 1 of the report's 5 facts and 4 of its 14 characters" in html
