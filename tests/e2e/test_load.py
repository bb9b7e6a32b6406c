"""Load on loopback (bounded in count and time): memory, descriptors and connections stay put."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

from ..conftest import ROOT

pytestmark = pytest.mark.load


def soak() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_soak", ROOT / "bench" / "bench_soak.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_thousand_sequential_cells_are_stable() -> None:
    result = soak().sequential(2000)
    assert result["fd_growth"] <= 2
    assert result["traced_growth_kib"] < 1024, result  # less than 0.5 KiB a cell: no leak
    assert result["exchanges"] == 1


def test_eight_threads_for_thirty_seconds() -> None:
    result = soak().concurrent(30.0, threads=8)
    assert result["errors"] == 0, result["first_error"]
    assert result["calls"] > 8 * 30  # really concurrent work, not a stalled pool
    assert result["connections_left"] == 0
    assert result["fd_growth"] <= 2
