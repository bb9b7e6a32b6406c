"""The package as a user installs and imports it: light import, honest exports, clean code."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

import puter_magic

from .conftest import ROOT

HEAVY = ("ipywidgets", "markdown", "nh3", "IPython.display", "IPython.core.display", "IPython")


def test_import_loads_nothing_heavy() -> None:
    code = (
        "import sys, puter_magic\n"
        f"heavy = [m for m in sys.modules if m.split('.')[0] in {HEAVY!r} or m in {HEAVY!r}]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_all_is_sorted_complete_and_resolvable() -> None:
    names = puter_magic.__all__
    assert names == sorted(names)
    for name in names:
        assert getattr(puter_magic, name) is not None
    with pytest.raises(AttributeError):
        puter_magic.no_such_name  # noqa: B018


def test_py_typed_is_shipped() -> None:
    assert (ROOT / "puter_magic" / "py.typed").exists()


@pytest.mark.parametrize(
    "cmd",
    [
        ["ruff", "check", "puter_magic", "tests", "bench"],
        ["ruff", "format", "--check", "puter_magic", "tests", "bench"],
        ["mypy"],
    ],
)
def test_lint_and_types(cmd: list[str]) -> None:
    exe = shutil.which(cmd[0], path=str(ROOT / ".venv" / "bin")) or shutil.which(cmd[0])
    if exe is None:
        pytest.skip(f"{cmd[0]} is not installed (pip install -e '.[test]')")
    proc = subprocess.run([exe, *cmd[1:]], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
