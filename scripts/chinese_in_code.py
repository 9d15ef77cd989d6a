"""Count Chinese characters in the string literals of pipeline/ (docstrings aside).

    python scripts/chinese_in_code.py [--list]

Vocabulary belongs in rules/*.yaml; this keeps the code honest about it.
Comments are not string literals, so they never count.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import regex

HAN = regex.compile(r"\p{Han}")
ROOT = Path(__file__).resolve().parents[1] / "pipeline"


def docstring_nodes(tree: ast.AST) -> set[int]:
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            value = first.value if isinstance(first, ast.Expr) else None
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                out.add(id(value))
    return out


def count(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = docstring_nodes(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            chars = HAN.findall(node.value)
            if chars:
                found.append((node.lineno, "".join(chars)))
    return found


def main() -> int:
    total = 0
    for path in sorted(ROOT.rglob("*.py")):
        found = count(path)
        n = sum(len(s) for _, s in found)
        total += n
        if n:
            print(f"{n:5d}  {path.relative_to(ROOT.parent)}")
            if "--list" in sys.argv:
                for line, chars in found:
                    print(f"         {line}: {chars}")
    print(f"{total:5d}  total")
    return 0


if __name__ == "__main__":
    sys.exit(main())
