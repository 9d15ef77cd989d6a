"""Decoding report bytes to text, strictly.

Encodings: a BOM decides (UTF-8, UTF-16, UTF-32; a BOM is a promise, so
invalid bytes after it are an error, never a fallback). Without a BOM, NUL
bytes mean UTF-16 (taken only when they are as frequent as its ASCII makes
them and the text decodes to plausible report characters) or binary. Else
UTF-8, then GB18030 - unless the bytes are UTF-8 with a few corrupt bytes:
GB18030 would accept them as mojibake, so they are refused with the offset.
"""
from __future__ import annotations

import codecs
import re

CONTROL_MAX_RATIO = 0.1  # real reports have ~0 control chars; binary has many
# UTF-16 without a BOM: its ASCII characters (digits, newlines) put a NUL byte
# on one side of at least this share of the characters; a UTF-8 file with a
# stray NUL does not, and would otherwise read as plausible CJK ("Bush hid the facts").
UTF16_MIN_NUL_SHARE = 0.01
UTF16_SAMPLE_CHARS = 1 << 20  # plausibility is judged on the first Mi characters
UTF16_MIN_PLAUSIBLE = 0.98  # reports: ~1.0; ASCII read as UTF-16: ~0.87; random bytes: ~0.4
# UTF-8 with a few bad bytes: invalid sequences are at most this share of the
# non-ASCII characters (GBK text read as UTF-8: ~0.76), over at least so many.
UTF8_MAX_BAD_SHARE = 0.05
UTF8_MIN_GOOD_CHARS = 8


# C0/C1 controls except tab, newline, vertical tab, form feed and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
# What a Chinese report is made of: ASCII, Latin (pinyin), Greek, punctuation
# and symbols, CJK characters, punctuation and units (㎡), full-width forms.
_IMPLAUSIBLE = re.compile(
    r"[^\t\n\r\x20-\x7e\xa0-\u024f\u0370-\u03ff\u2000-\u27bf\u3000-\u303f\u3200-\u4dbf"
    r"\u4e00-\u9fff\ufe30-\ufe6f\uff00-\uffef\U00020000-\U0003134f]"
)
_HIGH_BYTES = bytes(range(0x80, 0x100))


class UnreadableError(ValueError):
    """The bytes are not a text report we can decode; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode(data: bytes) -> tuple[str, str]:
    """Decode report bytes with the first codec that accepts them strictly."""
    if not data or data.isspace():
        raise UnreadableError("empty file")
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # before UTF-16: FF FE 00 00
        text, encoding = _strict(data, "utf-32"), "utf-32"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text, encoding = _strict(data, "utf-16"), "utf-16"
    elif b"\x00" in data:
        text, encoding = _bomless_utf16(data)
    elif data.startswith(codecs.BOM_UTF8):
        bom = len(codecs.BOM_UTF8)  # decode after it so error offsets stay absolute
        text, encoding = _strict(data[bom:], "utf-8", bom), "utf-8-sig"
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as exc:
            text, encoding = _not_utf8(data, exc.start)
    if not text or text.isspace():
        raise UnreadableError("empty file")
    controls = len(text) - len(_CONTROL.sub("", text))  # counted without a list per match
    if controls > CONTROL_MAX_RATIO * len(text):
        raise UnreadableError("binary file (mostly control characters)")
    return text, encoding


def _bomless_utf16(data: bytes) -> tuple[str, str]:
    """NUL bytes without a BOM: UTF-16 if they are frequent and it reads as text, else binary."""
    even, odd = data[0::2].count(0), data[1::2].count(0)
    if len(data) % 2 == 0 and max(even, odd) >= UTF16_MIN_NUL_SHARE * len(data) / 2:
        # ASCII in little-endian puts its zero high byte at odd offsets: try that order first.
        for codec in ("utf-16-le", "utf-16-be") if odd >= even else ("utf-16-be", "utf-16-le"):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                continue
            sample = text[:UTF16_SAMPLE_CHARS]
            implausible = len(sample) - len(_IMPLAUSIBLE.sub("", sample))
            if "\x00" not in text and implausible <= (1 - UTF16_MIN_PLAUSIBLE) * len(sample):
                return text, codec
        raise UnreadableError("binary file (contains NUL bytes, and is not UTF-16 text without a BOM)")
    raise UnreadableError("binary file (contains NUL bytes)")


def _not_utf8(data: bytes, offset: int) -> tuple[str, str]:
    """GB18030 for bytes that are not UTF-8, unless they are UTF-8 with a few corrupt bytes."""
    replaced = data.decode("utf-8", errors="replace")
    bad = replaced.count("\ufffd")
    ascii_bytes = len(data.translate(None, _HIGH_BYTES))  # ASCII bytes never join a bad sequence
    good = len(replaced) - ascii_bytes - bad
    if good >= UTF8_MIN_GOOD_CHARS and bad <= UTF8_MAX_BAD_SHARE * (good + bad):
        raise UnreadableError(
            f"invalid UTF-8 at byte offset {offset} ({bad} bad sequence(s) in otherwise UTF-8 text;"
            " not read as GB18030, which would garble it)"
        )
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise UnreadableError(
            f"undecodable bytes at offset {offset} (neither UTF-8 nor GB18030)"
        ) from None


def _strict(data: bytes, encoding: str, base: int = 0) -> str:
    """Decode with a BOM-declared codec; a BOM is a promise, so no fallback."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UnreadableError(f"invalid {encoding} at byte offset {base + exc.start}") from None
