"""The classroom rules in a real kernel, started as Jupyter starts one for a notebook: in the
notebook's folder, with ``JPY_SESSION_NAME`` naming it (and ``PUTER_MAGIC_POLICY`` for a
site-wide file). The kernel signs in to a sandbox on 127.0.0.1 that this test started, so
the test sees what was sent and can script a failure.
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from puter_magic.notebook.classroom.handout import write_rules
from puter_magic.notebook.classroom.tutor import TUTOR_INSTRUCTIONS
from puter_magic.sandbox import Fault, Sandbox

from .test_frontends import execute

pytestmark = pytest.mark.slow

Kernel = Callable[..., Any]


def make_notebook(path: pathlib.Path, rules: dict[str, Any] | None = None) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    if rules:
        write_rules(path, rules)
    return path


def change_rules(path: pathlib.Path, **rules: Any) -> None:
    """Rewrite the rules as puter-classroom does, making sure the modification time moves."""
    before = path.stat().st_mtime_ns
    write_rules(path, rules, clear=True)
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before + 10**9, before + 10**9))


@pytest.fixture
def start(tmp_path: pathlib.Path, sandbox: Sandbox) -> Iterator[Kernel]:
    """Start a kernel for *notebook* as Jupyter would, signed in to the test's sandbox."""
    from jupyter_client.manager import start_new_kernel

    started: list[tuple[Any, Any]] = []

    def launch(notebook: pathlib.Path, site: pathlib.Path | None = None) -> Any:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PUTER_")}
        env.update(
            PUTER_MAGIC_CONFIG_DIR=str(tmp_path / "config"),
            IPYTHONDIR=str(tmp_path / "ipython"),
            JPY_SESSION_NAME=str(notebook),
            PUTER_AUTH_TOKEN=sandbox.token,
        )
        if site is not None:
            env["PUTER_MAGIC_POLICY"] = str(site)
        manager, client = start_new_kernel(kernel_name="python3", env=env, cwd=str(notebook.parent))
        started.append((manager, client))
        execute(client, "%load_ext puter_magic")
        reply, outputs = execute(client, f"%puter_login --origin {sandbox.origin}")
        assert reply["status"] == "ok", outputs
        execute(client, "%config PuterMagics.default_model = 'sandbox-tutor'")
        sandbox.clear()
        return client

    yield launch
    for manager, client in started:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def plain(outputs: list[dict[str, Any]]) -> str:
    return "\n".join(str(o.get("text/plain", o.get("stream", o.get("error", "")))) for o in outputs)


def log_of(notebook: pathlib.Path) -> list[dict[str, Any]]:
    path = notebook.with_name(notebook.stem + ".puter-log.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_each_policy_and_the_file_changing_while_the_kernel_runs(
    start: Kernel, sandbox: Sandbox, tmp_path: pathlib.Path
) -> None:
    notebook = make_notebook(tmp_path / "assignment.ipynb", {"ai": "off"})
    kernel = start(notebook)
    reply, outputs = execute(kernel, "%%puter\nWhat is a list?")
    assert reply["status"] == "ok"
    assert plain(outputs) == "AI help is off for this notebook (set by the notebook). Nothing was sent."
    assert sandbox.calls() == []

    change_rules(notebook, ai="tutor", models=["sandbox-tutor-lite"], max_requests=2)
    _, outputs = execute(kernel, "%%puter\nWhat is a list?")
    assert "sandbox-tutor-lite · " in plain(outputs) and "· tutor" in plain(outputs)
    [call] = sandbox.calls("complete")
    assert call.args["model"] == "sandbox-tutor-lite"
    assert call.args["messages"][0]["content"].startswith(TUTOR_INSTRUCTIONS)
    _, outputs = execute(kernel, "%%puter -m sandbox-tutor\nAnother model?")
    assert "sandbox-tutor is not one of this notebook's models: sandbox-tutor-lite" in plain(outputs)

    change_rules(notebook, ai="on", max_requests=2)
    _, outputs = execute(kernel, "%%puter -m sandbox-tutor\nSecond request")
    assert "· tutor" not in plain(outputs) and "sandbox-tutor · " in plain(outputs)
    assert "tutor" not in str(sandbox.calls("complete")[-1].args["messages"][0])
    reply, outputs = execute(kernel, "%%puter\nThird request")
    assert reply["status"] == "ok"
    assert plain(outputs).startswith("Request limit reached: this notebook allows 2 requests")
    assert len(sandbox.calls("complete")) == 2
    _, outputs = execute(kernel, "%puter_policy")
    assert "2; 0 left (2 sent in this kernel session)" in plain(outputs)


def test_the_site_file_wins_over_the_notebook_key_by_key(
    start: Kernel, sandbox: Sandbox, tmp_path: pathlib.Path
) -> None:
    notebook = make_notebook(
        tmp_path / "assignment.ipynb",
        {"ai": "on", "models": ["sandbox-tutor", "sandbox-echo"], "max_requests": 10},
    )
    site = tmp_path / "hub" / "policy.json"
    site.parent.mkdir()
    site.write_text(
        json.dumps({"ai": "tutor", "models": ["sandbox-tutor", "sandbox-tutor-lite"], "max_requests": 50})
    )
    kernel = start(notebook, site)
    _, outputs = execute(kernel, "%puter_policy")
    table = plain(outputs)
    assert f"tutor: the model guides, it does not solve  (the site ({site}))" in table
    assert "sandbox-tutor  (the notebook and the site" in table  # the models both allow
    assert "10; 10 left" in table and "(the notebook)" in table  # the lower limit
    _, outputs = execute(kernel, "%%puter -m sandbox-echo\nhi")
    assert "not one of this notebook's models: sandbox-tutor" in plain(outputs)
    _, outputs = execute(kernel, "%%puter\nhi")
    assert "· tutor" in plain(outputs)

    site.write_text(json.dumps({"ai": "off"}))  # the hub tightens while the kernel runs
    os.utime(site, ns=(site.stat().st_mtime_ns + 10**9,) * 2)
    _, outputs = execute(kernel, "%%puter\nhi")
    assert plain(outputs) == f"AI help is off for this notebook (set by the site ({site})). Nothing was sent."
    assert len(sandbox.calls("complete")) == 1


def test_tutor_md_is_found_from_a_sub_folder(start: Kernel, sandbox: Sandbox, tmp_path: pathlib.Path) -> None:
    (tmp_path / "course").mkdir()
    (tmp_path / "course" / "TUTOR.md").write_text("This is a first-year course. Never reveal exercise 3.")
    notebook = make_notebook(tmp_path / "course" / "week1" / "lab.ipynb", {"ai": "tutor"})
    kernel = start(notebook)
    execute(kernel, "%%puter -s 'Reply in French.'\nSolve exercise 3.")
    system = sandbox.calls("complete")[-1].args["messages"][0]["content"]
    assert system.startswith(TUTOR_INSTRUCTIONS)
    teacher, student = system.index("Never reveal exercise 3."), system.index("Reply in French.")
    assert teacher < student


def test_the_log_after_answered_failed_and_refused_requests(
    start: Kernel, sandbox: Sandbox, tmp_path: pathlib.Path
) -> None:
    notebook = make_notebook(tmp_path / "assignment.ipynb", {"models": ["sandbox-tutor"], "log": True})
    kernel = start(notebook)
    execute(kernel, "topic = 'loops'")
    execute(kernel, "%%puter --chat lab\nExplain {topic}.")
    sandbox.inject(Fault.error(400, "bad_request", "The sandbox says no."))
    reply, outputs = execute(kernel, "%%puter --no-stream\nThis one fails.")
    assert reply["status"] == "ok" and "The sandbox says no." in plain(outputs)
    execute(kernel, "%%puter -m sandbox-echo\nNot allowed.")
    answered, failed, refused = log_of(notebook)
    assert answered["outcome"] == "answered" and answered["prompt"] == "Explain loops."
    assert answered["options"] == {"chat": "lab"} and answered["answered_by"] == "sandbox-tutor"
    assert "Explain loops." in answered["reply"] and answered["usage"]
    assert failed["outcome"] == "failed" and "bad_request" in failed["error"] and failed["reply"] == ""
    assert refused["outcome"] == "refused" and refused["model"] == "sandbox-echo"
    # jupyter_client's execute sends no cellId: the log says so rather than inventing one
    assert [e["cell"] for e in (answered, failed, refused)] == [None, None, None]
    raw = notebook.with_name("assignment.puter-log.jsonl").read_text()
    assert sandbox.token not in raw


def test_code_is_a_set_next_input_payload(start: Kernel, sandbox: Sandbox, tmp_path: pathlib.Path) -> None:
    notebook = make_notebook(tmp_path / "scratch.ipynb")
    kernel = start(notebook)
    reply, outputs = execute(kernel, "%%puter --code\nShow me a loop.")
    [payload] = reply["payload"]
    assert payload["source"] == "set_next_input" and payload["replace"] is False
    assert payload["text"].startswith("# The sandbox answers deterministically")
    assert "```" not in payload["text"]
    assert "put into a new cell below, not run." in plain(outputs)
    change_rules(notebook, ai="tutor")
    reply, outputs = execute(kernel, "%%puter --code\nShow me a loop.")
    assert not reply.get("payload") and "--code is not available in tutor mode" in plain(outputs)
