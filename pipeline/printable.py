"""Report names (and reasons quoting them) as they are printed: one line, nothing invisible.

A file name may hold any character but `/` and NUL: a newline in one forged
lines of the run summary and the logs (`a.txt\nFacts: 0` reads as two lines),
and bidirectional overrides or zero-width characters make a name look like
another. Printed, such characters are escaped the way Python writes them in
a string (`\\n`, `\\u202e`), and so is the backslash itself, so that what is
printed tells the name apart from any other. Chinese and every other
printable character stay as they are; the name recorded in Parquet is never
changed.
"""
from __future__ import annotations

import unicodedata

# Controls (C0, C1, tab, newline), format characters (bidi, zero-width, BOM),
# line and paragraph separators and lone surrogates; and the escape character.
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_NAMED = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """`text` with every character that could break or disguise a printed line escaped."""
    if "\\" not in text and text.isprintable():  # the common case; isprintable is False for all of _HIDDEN
        return text
    return "".join(_escape(char) if char == "\\" or unicodedata.category(char) in _HIDDEN else char
                   for char in text)


def _escape(char: str) -> str:
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
