"""The package as a user installs and imports it: light import, honest exports, clean code."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

import puter_magic

from .conftest import ROOT, run_without_notebook_libraries

HEAVY = ("ipywidgets", "markdown", "nh3", "IPython.display", "IPython.core.display", "IPython")


def test_import_loads_nothing_heavy() -> None:
    code = (
        "import sys, puter_magic\n"
        f"heavy = [m for m in sys.modules if m.split('.')[0] in {HEAVY!r} or m in {HEAVY!r}]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# What %load_ext puter_magic may import of the package: the magics' declarations, the settings
# (their traits) and the classroom's rules, read at load (issue 19). The classroom's gate, the
# reading of a line, the flows, the views, the client and the sandbox load when a magic first
# needs them.
LOADED_BY_LOAD_EXT = {
    "puter_magic",
    "puter_magic._version",
    "puter_magic.api",
    "puter_magic.api.humanize",
    "puter_magic.notebook",
    "puter_magic.notebook.magics",
    "puter_magic.notebook.state",
    "puter_magic.notebook.classroom",
    "puter_magic.notebook.classroom.policy",
}
HEAVY_FOR_LOAD = ("requests", "urllib3", "markdown", "nh3", "ipywidgets", "anywidget", "pygments.formatters")


def test_load_ext_loads_only_the_declarations() -> None:
    """``%load_ext puter_magic`` in a fresh IPython imports only what registering the magics
    needs (bench/bench_load.py times it); ``%%puter?`` still shows every option."""
    code = (
        "import sys, json; before = set(sys.modules)\n"
        "%load_ext puter_magic\n"
        "new = sorted(set(sys.modules) - before)\n"
        "help = get_ipython().object_inspect_text('%%puter')\n"
        "print(json.dumps([new, sorted(set(sys.modules) - before), '--max-tokens' in help]))"
    )
    ipython = [sys.executable, "-m", "IPython", "--no-banner", "--quick", "--colors=NoColor", "-c", code]
    out = subprocess.run(ipython, capture_output=True, text=True, check=True, cwd=ROOT / "bench")
    loaded, after_help, help_has_options = json.loads(out.stdout.strip().splitlines()[-1])
    ours = {m for m in loaded if m.split(".")[0] == "puter_magic"}
    assert ours <= LOADED_BY_LOAD_EXT, sorted(ours - LOADED_BY_LOAD_EXT)
    assert {"puter_magic.notebook.magics", "puter_magic.notebook.classroom.policy"} <= ours
    assert "puter_magic.notebook.classroom.gate" not in after_help
    heavy = [m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY_FOR_LOAD)]
    assert heavy == []
    assert help_has_options  # the help builds the parser on demand
    assert "puter_magic.notebook.options" in after_help and "puter_magic.notebook.views" not in after_help


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
        ["ruff", "check", "puter_magic", "tests", "bench", "lite"],
        ["ruff", "format", "--check", "puter_magic", "tests", "bench", "lite"],
        ["mypy"],
    ],
)
def test_lint_and_types(cmd: list[str]) -> None:
    exe = shutil.which(cmd[0], path=str(ROOT / ".venv" / "bin")) or shutil.which(cmd[0])
    if exe is None:
        pytest.skip(f"{cmd[0]} is not installed (pip install -e '.[test]')")
    proc = subprocess.run([exe, *cmd[1:]], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_api_works_with_the_notebook_libraries_unimportable() -> None:
    """The api wing never imports IPython, ipywidgets, markdown, nh3 or the notebook wing:
    with all of them blocked, the client still talks to the sandbox."""
    code = (
        "from puter_magic.api.client import PuterClient\n"
        "from puter_magic.api.errors import ModelNotFound\n"
        "from puter_magic.sandbox import Sandbox\n"
        "with Sandbox() as sandbox, PuterClient(sandbox.origin, sandbox.token) as client:\n"
        "    print(client.chat('Hello', model='sandbox-echo').text)\n"
        "    print(client.chat_stream('Hi', model='sandbox-echo').reply().text)\n"
        "    print(client.whoami()['username'], len(client.models()) > 0)\n"
        "    try:\n"
        "        client.chat('x', model='no-such-model')\n"
        "    except ModelNotFound as err:\n"
        "        print('raised', err.code)\n"
    )
    lines = run_without_notebook_libraries(code)
    assert lines == ["Hello", "Hi", "learner True", "raised bad_request", "[]"]


def test_the_package_metadata_builds_without_a_license_warning(tmp_path: object) -> None:
    import subprocess
    import sys
    from pathlib import Path

    from .conftest import ROOT

    code = (
        "import sys, warnings\n"
        "warnings.simplefilter('always')\n"
        "from setuptools import build_meta\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    name = build_meta.prepare_metadata_for_build_wheel(sys.argv[1])\n"
        "print('NAME', name)\n"
        "for w in caught:\n"
        "    print('WARNING', w.category.__name__, str(w.message).splitlines()[0])\n"
    )
    out = Path(str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-c", code, str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert not [w for w in lines if w.startswith("WARNING") and "license" in w.lower()], proc.stdout
    assert "licen" not in proc.stderr.lower(), proc.stderr
    name = next(line.split(" ", 1)[1] for line in lines if line.startswith("NAME "))
    metadata = (out / name / "METADATA").read_text()
    assert "License-Expression: MIT" in metadata
