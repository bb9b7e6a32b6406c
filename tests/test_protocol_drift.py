"""What the protocol became since the first docs: `service`, `normalize` and the shapes it gives,
reasoning details and images. Each test goes through what a user calls."""

from __future__ import annotations

import json

import pytest

from puter_magic import PuterClient
from puter_magic.sandbox import Sandbox

from .conftest import load_transcript

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]


# -- service= (older docs) ----------------------------------------------------------------


def test_service_from_older_docs_works_on_a_current_server(client: PuterClient, sandbox: Sandbox) -> None:
    """Code written against the older docs names an old provider as `service`: a current server
    ignores that field, so the call must work as the same raw request does."""
    result = client.call(
        "puter-chat-completion", "complete", service="fake-chat", args={"model": "fake", "messages": MESSAGES}
    )
    assert result["message"]["content"][0]["text"]
    body = sandbox.calls("complete")[-1].body
    assert body["service"] == "fake-chat" and "driver" not in body


def test_service_is_sent_as_the_recorded_request_sent_it(client: PuterClient, sandbox: Sandbox) -> None:
    recorded = load_transcript("complete-service-key-only.json")
    client.call(
        "puter-chat-completion", "complete", {"model": "fake", "messages": MESSAGES}, service="ai-chat"
    )
    assert sandbox.calls("complete")[-1].body == recorded["request"]["body"]
    reply = client.chat(MESSAGES, model="fake", service="ai-chat")
    assert reply.text
    body = sandbox.calls("complete")[-1].body
    assert body["service"] == "ai-chat" and "driver" not in body


def test_chat_without_service_still_names_the_driver(client: PuterClient, sandbox: Sandbox) -> None:
    client.chat("hi", model="fake")
    body = sandbox.calls("complete")[-1].body
    assert body["driver"] == "ai-chat" and "service" not in body


@pytest.mark.parametrize("name", ["fake-chat", "ai-chat", "claude", "openai-completion"])
def test_an_old_server_reads_service_and_its_provider_aliases(name: str, legacy_sandbox: Sandbox) -> None:
    """v1 read `driver ?? service` and took every chat provider name as an alias of ai-chat."""
    with PuterClient(legacy_sandbox.origin, legacy_sandbox.token, timeout=(2, 5)) as client:
        reply = client.chat(MESSAGES, model="fake", service=name)
    assert reply.text
    assert legacy_sandbox.calls("complete")[-1].body["service"] == name


def test_an_old_server_still_refuses_an_unknown_service(legacy_sandbox: Sandbox) -> None:
    from puter_magic import NotFound

    with (
        PuterClient(legacy_sandbox.origin, legacy_sandbox.token, timeout=(2, 5)) as client,
        pytest.raises(NotFound, match="Driver not found"),
    ):
        client.chat(MESSAGES, model="fake", service="no-such-driver")


def test_recording_keys_tell_service_apart() -> None:
    import hashlib

    from puter_magic.tape import request_key

    plain = {"interface": "i", "method": "m", "args": {}}
    assert request_key(plain) != request_key({**plain, "service": "fake-chat"})
    # A request without `service` keeps the key it had, so older recordings still replay.
    old = json.dumps(
        {"interface": "i", "driver": None, "method": "m", "args": {}}, sort_keys=True, separators=(",", ":")
    )
    assert request_key(plain) == hashlib.sha256(old.encode()).hexdigest()
