"""Reading numerals: Arabic, Chinese and mixed forms, to a float.

`read_number` takes the numeral part of a mention after text normalisation
(full-width digits already folded, traditional characters already simplified)
and returns its value, or None when the string is not a well-formed numeral.
Scale words written *after* a number (`3.98万`) are applied by the figure
finder from the scale rules; the scale characters inside a Chinese numeral
(`三千五百`, `两万`) are part of the numeral grammar and read here.
"""
from __future__ import annotations

from functools import lru_cache

import regex

DIGITS: dict[str, int] = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}
SMALL_UNITS: dict[str, int] = {"十": 10, "百": 100, "千": 1000}
BIG_UNITS: dict[str, int] = {"万": 10_000, "亿": 100_000_000}
CHINESE_NUMERAL_CHARS = "".join(DIGITS) + "".join(SMALL_UNITS) + "".join(BIG_UNITS)

_ARABIC = regex.compile(r"\d+(?:,\d{3})*(?:\.\d+)?|\d*\.\d+")
# Arabic digits with big-unit characters between groups: 9万7,411, 1亿2000万.
_MIXED = regex.compile(r"(?:(\d+(?:,\d{3})*(?:\.\d+)?)([万亿]))+(\d+(?:,\d{3})*)?")


def read_arabic(text: str) -> float | None:
    """`1,234.5` -> 1234.5; thousands separators must group by three."""
    if not _ARABIC.fullmatch(text):
        return None
    return float(text.replace(",", ""))


def _read_section(text: str) -> int | None:
    """A Chinese numeral below 10,000: 三千五百, 十二, 二十, 一百零五."""
    total, digit, last_unit = 0, None, 10_000
    for ch in text:
        if ch in DIGITS:
            if digit is not None and digit != 0 and DIGITS[ch] != 0:
                # two digits in a row (一一) is a list, not a numeral,
                # unless the units are implied by a positional read.
                return None
            digit = DIGITS[ch]
        elif ch in SMALL_UNITS:
            unit = SMALL_UNITS[ch]
            if unit >= last_unit:
                return None
            if digit is None:
                if ch != "十" or total:  # 十二 is 12, but 百 alone needs a digit
                    if ch == "十":
                        digit = 1
                    else:
                        return None
                else:
                    digit = 1
            total += digit * unit
            digit, last_unit = None, unit
        else:
            return None
    if digit:
        total += digit
    return total


def read_chinese(text: str) -> float | None:
    """三千五百 -> 3500, 两万 -> 20000, 十二 -> 12, 一亿三千万 -> 130000000."""
    if not text or any(ch not in CHINESE_NUMERAL_CHARS for ch in text):
        return None
    if text in ("零", "〇"):
        return 0.0
    if all(ch in DIGITS for ch in text) and len(text) >= 3 and "两" not in text:
        # positional form, as in years: 二〇二三 -> 2023 (一一 is a list, not 11)
        return float("".join(str(DIGITS[ch]) for ch in text))
    total = 0
    rest = text
    for big_ch in ("亿", "万"):
        if big_ch in rest:
            head, _, rest = rest.partition(big_ch)
            if big_ch in rest:
                return None
            value = _read_section(head) if head else 1
            if value is None:
                return None
            if head and "万" in head:  # 一万亿-style compounds handled by recursion
                sub = read_chinese(head)
                if sub is None:
                    return None
                value = int(sub)
            total += value * BIG_UNITS[big_ch]
    if rest:
        value = _read_section(rest)
        if value is None:
            return None
        total += value
    return float(total)


def read_mixed(text: str) -> float | None:
    """Arabic groups joined by big units: 9万7,411 -> 97411, 1亿2000万 -> 120000000."""
    if not _MIXED.fullmatch(text):
        return None
    total = 0.0
    for number, unit in regex.findall(r"(\d+(?:,\d{3})*(?:\.\d+)?)([万亿]?)", text):
        value = float(number.replace(",", ""))
        total += value * (BIG_UNITS[unit] if unit else 1)
    return total


@lru_cache(maxsize=8192)
def read_number(text: str) -> float | None:
    """Any numeral form: Arabic, Chinese, or Arabic groups joined by 万/亿.

    Cached: the same numerals (years, small counts) recur all through a report.
    """
    text = text.strip()
    if not text:
        return None
    for reader in (read_arabic, read_mixed, read_chinese):
        value = reader(text)
        if value is not None:
            return value
    return None
