"""The sandbox normalizes chat replies as newer Puter servers do: ``normalize: true`` gives
OpenAI's shape, ``false`` the native one, a model's release date decides when nothing is asked,
and streams are never normalized."""

from __future__ import annotations

from typing import Any

from puter_magic import PuterClient
from puter_magic.sandbox import Sandbox


def _complete(sb: Sandbox, **args: Any) -> dict[str, Any]:
    import requests

    body = {
        "interface": "puter-chat-completion",
        "driver": "ai-chat",
        "method": "complete",
        "args": {"messages": [{"role": "user", "content": "Hello"}], **args},
    }
    resp = requests.post(
        sb.origin + "/drivers/call", json=body, headers={"Authorization": f"Bearer {sb.token}"}, timeout=5
    )
    assert resp.status_code == 200
    data: dict[str, Any] = resp.json()
    return data


def test_normalize_true_gives_openais_shape(sandbox: Sandbox) -> None:
    result = _complete(sandbox, model="sandbox-tutor", normalize=True)["result"]
    assert result["normalized"] is True and result["finish_reason"] == "stop"
    assert isinstance(result["message"]["content"], str) and "### Turn 1" in result["message"]["content"]
    native = _complete(sandbox, model="sandbox-tutor")["result"]
    assert "normalized" not in native and isinstance(native["message"]["content"], list)
    assert native["message"]["content"][0]["text"] == result["message"]["content"]


def test_normalize_false_gives_the_native_shape_of_a_new_model(sandbox: Sandbox) -> None:
    native = _complete(sandbox, model="sandbox-thinker", normalize=False)["result"]
    assert [p["type"] for p in native["message"]["content"]] == ["thinking", "text"]
    assert "normalized" not in native


def test_the_release_date_decides_when_nothing_is_asked(sandbox: Sandbox) -> None:
    """Models released on or after 2026-09-01 are normalized; older ones and Puter's test models not."""
    from puter_magic.sandbox import MODELS

    catalogue = {m["id"]: m for m in _models(sandbox)}
    for model in MODELS.values():
        result = _complete(sandbox, model=model.id)["result"]
        date = catalogue[model.id].get("release_date")
        if model.provider == "fake-chat":
            assert date is None and isinstance(result["message"]["content"], list)
            continue
        assert isinstance(date, str)
        assert result.get("normalized", False) is (date >= "2026-09-01"), model.id
    thinker = _complete(sandbox, model="sandbox-thinker")["result"]
    assert thinker["normalized"] is True and isinstance(thinker["message"]["content"], str)
    assert thinker["message"]["reasoning"].startswith("The learner sent")
    assert isinstance(thinker["message"]["reasoning_details"], list)


def test_streams_are_not_normalized(sandbox: Sandbox) -> None:
    import requests

    lines = []
    for normalize in (True, False):
        body = {
            "interface": "puter-chat-completion",
            "method": "complete",
            "args": {"model": "sandbox-thinker", "messages": ["hi"], "stream": True, "normalize": normalize},
        }
        resp = requests.post(
            sandbox.origin + "/drivers/call",
            json=body,
            headers={"Authorization": f"Bearer {sandbox.token}"},
            timeout=5,
        )
        assert resp.headers["Content-Type"] == "application/x-ndjson"
        lines.append(resp.text)
    assert lines[0] == lines[1]


def _models(sb: Sandbox) -> list[dict[str, Any]]:
    with PuterClient(sb.origin, sb.token) as client:
        return [m.raw for m in client.models()]
