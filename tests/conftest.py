"""Shared fixtures: the project's rules, loaded once per test session."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.rules.compiler import Rules, load_rules

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def rules() -> Rules:
    return load_rules(ROOT / "rules")
