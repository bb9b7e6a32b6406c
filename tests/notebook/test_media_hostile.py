"""Bad input and hostile replies for the media cells: each one a UsageError before anything is
sent, or one warning, and never a half-written --save file. A reply's URL is fetched without
the token, from a loopback server standing in for another host."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from puter_magic import PuterClient
from puter_magic.api.errors import MalformedResponse
from puter_magic.sandbox import Fault, Sandbox
from puter_magic.sandbox.pixels import picture

from ..media_server import MediaServer, Route, megabytes, other_host_fixture  # noqa: F401  (a fixture)
from ..shell import run

MB = 1024 * 1024
PNG = picture("from another host", 64, 64)
HTML = b"<!doctype html><html><head><title>Sign in</title></head><body>Please sign in</body></html>"


def refused(ip: InteractiveShell, source: str) -> str:
    """The cell's one-line UsageError (it must raise one)."""
    _, result = run(ip, source)
    assert isinstance(result.error_in_exec, UsageError), result.error_in_exec
    return str(result.error_in_exec)


def one_warning(ip: InteractiveShell, source: str) -> str:
    """The cell's one warning: the cell succeeds, shows it and nothing else."""
    outputs, result = run(ip, source)
    assert result.success, result.error_in_exec
    (box,) = outputs
    assert "puter-warning" in box["text/html"], outputs
    text: str = box["text/plain"]
    return text


def url_reply(url: str) -> Fault:
    return Fault.raw(json.dumps({"success": True, "result": url, "service": {"name": "ai-image"}}))


# -- bad input: refused before anything is sent -----------------------------------------------------


def test_a_missing_file(signed_in: InteractiveShell, sandbox: Sandbox, tmp_path: Path) -> None:
    gone = tmp_path / "gone.png"
    assert f"no such file: {gone}" in refused(signed_in, f"%puter_ocr {gone}")
    assert "no such file" in refused(signed_in, f"%puter_transcribe {tmp_path / 'gone.wav'}")
    assert "no such file" in refused(signed_in, f"%%puter --image {gone}\nWhat is this?")
    assert "no variable and no file of that name" in refused(signed_in, "%puter_ocr scan")
    assert sandbox.calls() == []


def test_an_unreadable_image(signed_in: InteractiveShell, sandbox: Sandbox, tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x00\x01 not a picture at all")
    text = refused(signed_in, f"%%puter --image {broken}\nWhat is this?")
    assert text == (
        f"--image {broken}: broken.png is not an image Puter can read (PNG, JPEG, GIF or WebP): "
        "its first bytes are not a format we know"
    )
    signed_in.user_ns["page"] = HTML
    assert "it looks like an HTML or XML page" in refused(signed_in, "%puter_ocr page")
    assert sandbox.calls() == []


def test_a_variable_of_the_wrong_type(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    signed_in.user_ns.update(n=5, words=["a", "b"])
    assert refused(signed_in, "%%puter --image n\nhi").startswith("--image n: cannot send an int as an image")
    assert "cannot send a list as audio" in refused(signed_in, "%puter_transcribe words")
    assert "n is a int, not a dict of args" in refused(signed_in, "%puter_call puter-tts list {n}")
    assert "not valid JSON" in refused(signed_in, "%puter_call puter-tts list {'x': 1}")
    assert sandbox.calls() == []


def test_a_media_url_that_is_not_https(
    signed_in: InteractiveShell, sandbox: Sandbox, tmp_path: Path, other_host: MediaServer
) -> None:
    assert "a media URL must be https://" in refused(signed_in, "%puter_ocr http://example.org/scan.png")
    assert "must be https" in refused(signed_in, "%%puter --image http://example.org/a.png\nhi")
    assert sandbox.calls() == []
    sandbox.inject(url_reply("http://example.org/kite.png"))
    target = tmp_path / "kite.png"
    text = one_warning(signed_in, f"%puter_image --save {target} a kite")
    assert "the reply's media URL is not https, so it was not fetched: http://example.org/kite.png" in text
    assert "Next: open the URL yourself if you trust it" in text  # not "check the origin"
    assert list(tmp_path.iterdir()) == []
    # Plain http to loopback is only for a client whose own origin is loopback (the sandbox, tests).
    other_host.routes["/x.png"] = Route(body=PNG, content_type="image/png")
    remote = PuterClient("https://api.example.org", "a-token")
    with pytest.raises(MalformedResponse, match="not https"):
        remote.media_fetcher().fetch(other_host.url("/x.png"))
    assert other_host.seen == []


# -- hostile replies: one warning, nothing saved --------------------------------------------------------


def test_a_reply_url_to_another_host_is_fetched_without_the_token(
    signed_in: InteractiveShell, sandbox: Sandbox, tmp_path: Path, other_host: MediaServer
) -> None:
    other_host.routes["/cdn/kite.png"] = Route(body=PNG, content_type="image/png")
    other_host.routes["/moved"] = Route(302, b"", None, {"Location": "/cdn/kite.png"})
    sandbox.inject(url_reply(other_host.url("/moved")))
    target = tmp_path / "kite.png"
    outputs = [o for o in run(signed_in, f"%puter_image --save {target} a kite")[0]]
    assert base64.b64decode(outputs[0]["image/png"]) == PNG == target.read_bytes()
    assert [s["path"] for s in other_host.seen] == ["/moved", "/cdn/kite.png"]
    for seen in other_host.seen:
        assert "authorization" not in seen and "cookie" not in seen, seen
        assert sandbox.token not in json.dumps(seen)
    other_host.routes.pop("/cdn/kite.png")
    sandbox.inject(url_reply(other_host.url("/cdn/kite.png")))
    text = one_warning(signed_in, f"%puter_image --save {tmp_path / 'second.png'} a kite")
    assert f"could not download the media from 127.0.0.1:{other_host.port}: HTTP 404" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kite.png"]


@pytest.mark.parametrize("form", ["bytes", "url", "data-url"])
def test_a_200_with_a_non_image_body_labelled_as_an_image(
    form: str, signed_in: InteractiveShell, sandbox: Sandbox, tmp_path: Path, other_host: MediaServer
) -> None:
    if form == "bytes":
        sandbox.inject(Fault.raw(HTML, content_type="image/png"))
        where = "the image in the reply"
    elif form == "url":
        other_host.routes["/kite.png"] = Route(body=HTML, content_type="image/png")
        sandbox.inject(url_reply(other_host.url("/kite.png")))
        where = f"the image at {other_host.url('/kite.png')}"
    else:
        sandbox.inject(url_reply("data:image/png;base64," + base64.b64encode(HTML).decode()))
        where = "the image in the reply"
    text = one_warning(signed_in, f"%puter_image --save {tmp_path / 'kite.png'} --out pic a kite")
    assert f"{where} is labelled image/png but not an image (an HTML page)" in text
    assert list(tmp_path.iterdir()) == [] and "pic" not in signed_in.user_ns


@pytest.mark.parametrize("form", ["raw-bytes", "declared-length", "chunked"])
def test_a_50_mb_reply(
    form: str, signed_in: InteractiveShell, sandbox: Sandbox, tmp_path: Path, other_host: MediaServer
) -> None:
    mp3 = b"ID3" + bytes(29)
    if form == "raw-bytes":
        sandbox.inject(Fault.raw(mp3 + bytes(50 * MB), content_type="audio/mpeg"))
    else:
        length = 50 * MB + len(mp3) if form == "declared-length" else None
        other_host.routes["/speech.mp3"] = Route(
            body=megabytes(50, mp3), content_type="audio/mpeg", length=length
        )
        reply = {"url": other_host.url("/speech.mp3"), "content_type": "audio"}
        sandbox.inject(Fault.raw(json.dumps({"success": True, "result": reply})))
    text = one_warning(signed_in, f"%puter_speak --save {tmp_path / 'speech.mp3'} --out said Hello")
    said = {  # what each form lets the client know, and so say
        "raw-bytes": "the audio reply is over 41.9 MB",
        "declared-length": "is 52.4 MB, over the 41.9 MB this client downloads; nothing was kept",
        "chunked": "is over the 41.9 MB this client downloads; nothing was kept",
    }
    assert said[form] in text
    assert list(tmp_path.iterdir()) == [] and "said" not in signed_in.user_ns


def test_save_into_a_missing_folder_is_refused_before_sending(
    signed_in: InteractiveShell, sandbox: Sandbox, tmp_path: Path
) -> None:
    text = refused(signed_in, f"%puter_image --save {tmp_path / 'no' / 'kite.png'} a kite")
    assert text == f"--save {tmp_path / 'no' / 'kite.png'}: the folder {tmp_path / 'no'} does not exist"
    assert sandbox.calls() == []


def test_a_save_that_fails_midway_leaves_no_half_file(
    signed_in: InteractiveShell, sandbox: Sandbox, tmp_path: Path
) -> None:
    """The disk fills up while the image is written (a file size limit of 1,000 bytes)."""
    import resource
    import signal

    target = tmp_path / "kite.png"
    target.write_bytes(b"the old kite")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, hard))
    try:
        text = refused(signed_in, f"%puter_image --save {target} a kite")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert text == f"--save {target}: File too large"
    assert [p.name for p in tmp_path.iterdir()] == ["kite.png"] and target.read_bytes() == b"the old kite"


def test_the_token_never_shows_nor_travels_in_media_cells(
    ip: InteractiveShell, sandbox: Sandbox, tmp_path: Path, other_host: MediaServer
) -> None:
    """Replies that echo the token (in an error, in a media URL) leave it out of every output,
    and a reply URL holding it is not fetched: the token would travel to that host in the URL."""
    import json as json_module

    from IPython.utils.capture import capture_output

    from ..shell import final_outputs

    secret = "tok-MEDIA-SECRET-0123456789abcdef"
    sandbox.add_token(secret)
    os.environ["PUTER_AUTH_TOKEN"] = secret
    run(ip, f"%puter_login --origin {sandbox.origin}")
    other_host.routes["/kite.png"] = Route(body=PNG, content_type="image/png")
    sandbox.inject(
        Fault.error(400, "bad_request", f"Model not found: {secret}"),
        url_reply(other_host.url(f"/kite.png?token={secret}")),
        Fault.raw(json.dumps({"success": True, "result": {"url": f"https://cdn.example/{secret}.mp3"}})),
    )
    seen = []
    for cell in (
        "%puter_image -m sandbox-image a kite",
        f"%puter_image --save {tmp_path / 'kite.png'} a kite",
        "%puter_speak hello",
        f"%%puter_image -m sandbox-image-url --save {tmp_path / 'ok.png'}\na kite",
        "%%puter_speak\nhello",
        "%puter_transcribe https://example.org/talk.wav",
    ):
        with capture_output() as captured:
            ip.run_cell(cell)
        seen += [json_module.dumps(final_outputs(captured)), captured.stdout, captured.stderr]
    text = "".join(seen)
    assert text.count("puter-warning") >= 4 and "holds your token" in text
    assert secret not in text
    assert other_host.seen == [] and [p.name for p in tmp_path.iterdir()] == ["ok.png"]


def test_an_image_variable_whose_url_is_gone(
    signed_in: InteractiveShell, sandbox: Sandbox, other_host: MediaServer
) -> None:
    sandbox.inject(url_reply(other_host.url("/gone.png")))
    result = signed_in.run_line_magic(
        "puter_call", 'puter-image-generation generate {"prompt": "x"} --out raw'
    )
    assert result is None
    from puter_magic.api.media_results import image_result

    signed_in.user_ns["pic"] = image_result(
        signed_in.user_ns["raw"], PuterClient(sandbox.origin).media_fetcher()
    )
    text = refused(signed_in, "%%puter --image pic\nWhat is this?")
    where = f"127.0.0.1:{other_host.port}"
    assert (
        text == f"--image pic: could not get the image: could not download the media from {where}: HTTP 404"
    )
    assert sandbox.calls("complete") == []
