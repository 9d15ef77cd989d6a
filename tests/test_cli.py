"""The command line (pipeline.cli): what it refuses before any run starts."""
from __future__ import annotations

import pytest

from pipeline import cli


@pytest.mark.parametrize("workers, message", [("0", "must be at least 1, not 0"), ("-2", "must be at least 1, not -2"),
                                              ("two", "not a whole number: 'two'")])
def test_workers_must_be_a_count_of_processes(workers: str, message: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.parser().parse_args(["--workers", workers])
    assert exit_.value.code == 2
    assert f"argument --workers: {message}" in capsys.readouterr().err


def test_workers_takes_a_count() -> None:
    assert cli.parser().parse_args(["--workers", "1"]).workers == 1
    assert cli.parser().parse_args([]).workers is None  # one per core, decided by the flow
