"""Build a JupyterLite site that runs puter-magic in the browser, with no server at all.

    python lite/build.py                  # -> build/lite/, ready for any static host
    python -m http.server -d build/lite   # then open http://127.0.0.1:8000/lab/index.html?path=demo.ipynb

The site holds JupyterLite 0.8.6 with its Pyodide kernel, Pyodide 314.0.6 itself (no CDN
needed), this checkout's wheel, the wheels it needs, and the demo notebook (with a first
cell that installs puter-magic). Widgets render: the build includes the lab extensions of
ipywidgets and anywidget. See docs/jupyterlite.md.

What it downloads (PyPI and npm only) is cached in lite/.cache/ and reused; ``--offline``
builds from that cache alone and fails, saying so, if something is missing.

- Pyodide's npm package has the core but no package wheels. The pure-Python wheels the
  kernel and puter-magic need are taken from PyPI at the versions of Pyodide's lock, and
  the lock's sha256 of each is rewritten to the downloaded file (Pyodide rebuilds its
  wheels, so the hashes differ; the browser would refuse them on its integrity check).
- nh3 (the HTML sanitizer) is a compiled wheel only Pyodide's own distribution ships: the
  lock points it at Pyodide's CDN, with the lock's own hash. A page that cannot reach the
  CDN shows replies as escaped plain text. ``--nh3-wheel`` puts another wheel in its place:
  the tests use a strict stand-in (tests/e2e/nh3_standin/), never a real site.
- Packages the kernel does not find in the site are never fetched from PyPI
  (``disablePyPIFallback``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import venv
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
DEFAULT_OUT = ROOT / "build" / "lite"

JUPYTERLITE = "0.8.6"
PYODIDE = "314.0.6"
PYODIDE_CDN = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE}/full/"
# The build environment: JupyterLite, and the lab extensions that make widgets render.
BUILD_ENV = [
    f"jupyterlite-core=={JUPYTERLITE}",
    f"jupyterlite-pyodide-kernel=={JUPYTERLITE}",
    "jupyter_server>=2.14",  # indexes the site's files
    "jupyterlab_widgets==3.0.17",
    "anywidget==0.11.0",
    "setuptools>=77",  # builds this checkout's wheel with no download
]
# Kernel-side wheels Pyodide's lock does not have, served from the site's own index.
SITE_WHEELS = [
    "comm==0.2.3",
    "markdown==3.11.4",
    "ipywidgets==8.1.9",
    "jupyterlab_widgets==3.0.17",
    "anywidget==0.11.0",
    "psygnal==0.16.1",
]
# The site's kernel: a notebook that names it opens without asking which kernel to start.
PYODIDE_KERNEL = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}
# What the kernel and puter-magic load from Pyodide's lock (their dependencies follow).
FROM_LOCK = ["micropip", "packaging", "ipython", "jedi", "requests", "pyodide-http", "typing-extensions"]


def run(*args: str | Path, cwd: Path | None = None) -> None:
    subprocess.run([str(a) for a in args], check=True, cwd=cwd)


def say(message: str) -> None:
    print(f"[lite] {message}", flush=True)


class Missing(Exception):
    """Something the offline build needs is not in the cache."""


# -- the cache (network only here) ------------------------------------------------------


def build_env(offline: bool) -> Path:
    env = CACHE / "env"
    python = env / "bin" / "python"
    stamp = env / "puter-magic-lite.json"
    wanted = json.dumps(BUILD_ENV)
    if stamp.exists() and stamp.read_text() == wanted:
        return env
    if offline:
        raise Missing(f"the build environment ({env})")
    say("creating the build environment (JupyterLite and the widget extensions)")
    if env.exists():
        shutil.rmtree(env)
    venv.create(env, with_pip=True)
    run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *BUILD_ENV)
    stamp.write_text(wanted)
    return env


def pyodide_core(offline: bool) -> Path:
    core = CACHE / f"pyodide-{PYODIDE}"
    if (core / "pyodide-lock.json").exists():
        return core
    if offline:
        raise Missing(f"Pyodide {PYODIDE} ({core})")
    say(f"downloading Pyodide {PYODIDE} (npm)")
    with tempfile.TemporaryDirectory() as tmp:
        run("npm", "pack", f"pyodide@{PYODIDE}", "--pack-destination", tmp, "--silent")
        (tarball,) = Path(tmp).glob("pyodide-*.tgz")
        with tarfile.open(tarball) as tar:
            tar.extractall(tmp, filter="data")
        partial = core.with_suffix(".partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.move(str(Path(tmp) / "package"), partial)
        partial.rename(core)
    return core


def lock_closure(lock: dict[str, Any], names: list[str]) -> list[str]:
    """*names* and everything they depend on in the lock, in a stable order."""
    seen: list[str] = []
    todo = [n.lower().replace("_", "-") for n in names]
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.append(name)
        depends = lock["packages"][name].get("depends", [])
        assert isinstance(depends, list)
        todo += [str(d).lower().replace("_", "-") for d in depends]
    return seen


def download(requirements: list[str], into: Path, offline: bool) -> list[Path]:
    """Pure-Python wheels of exactly these versions (``name==version``), cached in *into*."""
    into.mkdir(parents=True, exist_ok=True)

    def found(req: str) -> Path | None:
        name, _, version = req.partition("==")
        stem = name.lower().replace("-", "_")
        for wheel in into.glob("*.whl"):
            parts = wheel.name.split("-")
            if parts[0].lower().replace("-", "_") == stem and parts[1] == version:
                return wheel
        return None

    missing = [r for r in requirements if found(r) is None]
    if missing and offline:
        raise Missing("wheels: " + ", ".join(missing))
    if missing:
        say(f"downloading {len(missing)} wheels (PyPI)")
        run(
            sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
            "--only-binary=:all:", "--python-version", "3.14", "--platform", "any", "-d", into, *missing,
        )  # fmt: skip
    wheels = []
    for req in requirements:
        wheel = found(req)
        if wheel is None:
            raise Missing(f"wheel {req} (not on PyPI as a pure-Python wheel?)")
        wheels.append(wheel)
    return wheels


def prepare(offline: bool) -> tuple[Path, Path, list[Path], list[Path]]:
    """The build environment, Pyodide's core, the lock's wheels and the site's wheels."""
    env = build_env(offline)
    core = pyodide_core(offline)
    lock = json.loads((core / "pyodide-lock.json").read_text())
    names = lock_closure(lock, FROM_LOCK)
    pinned = [f"{n}=={lock['packages'][n]['version']}" for n in names]
    lock_wheels = download(pinned, CACHE / "lock-wheels", offline)
    site_wheels = download(SITE_WHEELS, CACHE / "site-wheels", offline)
    return env, core, lock_wheels, site_wheels


# -- the site (no network) ----------------------------------------------------------------


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lock_name(wheel: Path) -> str:
    return wheel.name.split("-")[0].lower().replace("_", "-")


def place_pyodide(core: Path, lock_wheels: list[Path], nh3_wheel: Path | None, into: Path) -> None:
    """Pyodide's core and wheels in *into*, with a lock whose hashes match those files."""
    unused = shutil.ignore_patterns("*.map", "*.d.ts", "console*.html", "README.md")
    shutil.copytree(core, into, ignore=unused)
    lock = json.loads((core / "pyodide-lock.json").read_text())
    packages = lock["packages"]
    for wheel in lock_wheels:
        entry = packages[lock_name(wheel)]
        shutil.copy2(wheel, into / wheel.name)
        entry["file_name"], entry["sha256"] = wheel.name, sha256(wheel)
    nh3 = packages["nh3"]
    if nh3_wheel is None:
        nh3["file_name"] = PYODIDE_CDN + nh3["file_name"]  # the lock's own hash: the CDN's file
    else:
        shutil.copy2(nh3_wheel, into / nh3_wheel.name)
        nh3["file_name"], nh3["sha256"] = nh3_wheel.name, sha256(nh3_wheel)
        nh3["version"] = nh3_wheel.name.split("-")[1]
    (into / "pyodide-lock.json").write_text(json.dumps(lock))


def this_wheel(env: Path, into: Path) -> Path:
    """This checkout's wheel, built with no download."""
    with tempfile.TemporaryDirectory() as tmp:
        run(
            env / "bin" / "python", "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-deps",
            "--no-build-isolation", "-w", tmp, ROOT,
        )  # fmt: skip
        (wheel,) = Path(tmp).glob("puter_magic-*.whl")
        return Path(shutil.copy2(wheel, into / wheel.name))


RUN_ALL_STOPS = (
    "**In JupyterLite, Run All stops at the error the next cell makes on purpose** (the page's "
    "kernel ends a run at any error). To go on, click the cell after it and choose "
    "*Run ▸ Run Selected Cell and All Below*."
)


BUTTON_IN_THE_PAGE = (
    "**In this page** the button below signs in to Puter itself (puter.com): the sandbox can play "
    "Puter's website only as a server your browser opens, which a page cannot start. A click signs "
    "you in for real (or makes you a guest account); until then the notebook goes on with the "
    "sandbox."
)


def markdown_cell(cell_id: str, text: str) -> dict[str, object]:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": [text]}


def demo_notebook() -> dict[str, object]:
    """The demo, with a first cell that installs puter-magic in the page's Python."""
    notebook: dict[str, object] = json.loads((ROOT / "demo.ipynb").read_text())
    cells = notebook["cells"]
    assert isinstance(cells, list)
    for cell in cells:
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    for i, cell in reversed(list(enumerate(cells))):
        source = "".join(cell.get("source", []))
        if cell.get("cell_type") == "code" and "Sandbox(gui_host=" in source:
            # The sandbox can play Puter's website only as a server the browser opens: not from
            # a page. Here the button signs in to Puter itself.
            cells[i] = markdown_cell("lite-button", BUTTON_IN_THE_PAGE)
        elif cell.get("cell_type") == "code" and "{puter_site.origin}" in source:
            cell["source"] = [source.replace(" --origin {puter_site.origin}", "")]
    stops = [i for i, c in enumerate(cells) if "raises-exception" in c.get("metadata", {}).get("tags", [])]
    for i in reversed(stops):  # JupyterLite's Run All stops at any error, tagged or not
        cells.insert(i, markdown_cell(f"lite-stop-{i}", RUN_ALL_STOPS))
    install: dict[str, object] = {
        "cell_type": "code",
        "execution_count": None,
        "id": "lite-install",
        "metadata": {},
        "outputs": [],
        "source": ["%pip install -q puter-magic"],
    }
    note = markdown_cell(
        "lite-note",
        "**In the browser.** This notebook runs in JupyterLite: Python in this page, no server. "
        "The cell below installs puter-magic from this site; the sandbox then answers inside "
        "the page. Python here has no threads, so `--compare` and `--each` ask one model or "
        "item at a time.",
    )
    cells[1:1] = [note, install]
    notebook["metadata"] = {**notebook.get("metadata", {}), "kernelspec": PYODIDE_KERNEL}  # type: ignore[dict-item]
    return notebook


def build(
    out: Path,
    *,
    offline: bool = False,
    contents: list[Path] | None = None,
    nh3_wheel: Path | None = None,
    settings_overrides: Path | None = None,
) -> Path:
    env, core, lock_wheels, site_wheels = prepare(offline)
    with tempfile.TemporaryDirectory(prefix="puter-lite-") as tmp:
        lite = Path(tmp)
        shutil.copy2(HERE / "jupyter-lite.json", lite / "jupyter-lite.json")
        if settings_overrides is not None:
            shutil.copy2(settings_overrides, lite / "overrides.json")
        place_pyodide(core, lock_wheels, nh3_wheel, lite / "static" / "pyodide")
        pypi = lite / "pypi"
        pypi.mkdir()
        for wheel in site_wheels:
            shutil.copy2(wheel, pypi / wheel.name)
        this_wheel(env, pypi)
        files = lite / "files"
        files.mkdir()
        (files / "demo.ipynb").write_text(json.dumps(demo_notebook(), indent=1) + "\n")
        for extra in contents or []:
            for path in sorted(extra.iterdir()):
                if path.is_file():
                    shutil.copy2(path, files / path.name)
        if out.exists():
            shutil.rmtree(out)
        say(f"building the site in {out}")
        run(
            env / "bin" / "jupyter", "lite", "build", "--lite-dir", lite, "--output-dir", out,
            "--contents", files, "--log-level", "WARN",
            cwd=lite,
        )  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the site goes (build/lite)")
    parser.add_argument("--offline", action="store_true", help="build from lite/.cache only (no download)")
    parser.add_argument("--prepare-only", action="store_true", help="fill lite/.cache, build nothing")
    parser.add_argument("--contents", type=Path, action="append", help="a folder whose files join the demo")
    parser.add_argument("--nh3-wheel", type=Path, help="a wheel in place of Pyodide's nh3 (tests only)")
    parser.add_argument("--settings-overrides", type=Path, help="an overrides.json for the site's settings")
    args = parser.parse_args(argv)
    os.environ.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    try:
        if args.prepare_only:
            prepare(args.offline)
            say(f"cache ready in {CACHE}")
            return 0
        out = build(
            args.out.resolve(),
            offline=args.offline,
            contents=args.contents,
            nh3_wheel=args.nh3_wheel,
            settings_overrides=args.settings_overrides,
        )
    except Missing as missing:
        print(f"lite/build.py --offline: {missing} is missing; run python lite/build.py --prepare-only once")
        return 3
    say(f"done: python -m http.server -d {out}, then open /lab/index.html?path=demo.ipynb")
    return 0


if __name__ == "__main__":
    sys.exit(main())
