"""The sandbox without a socket: a ``requests`` transport adapter that answers as the sandbox,
in this process.

For a Python that cannot listen (Pyodide in a browser, as in JupyterLite). Each request is
written out as HTTP/1.1 bytes, handed to the sandbox's own handler
(:class:`~puter_magic.sandbox.server.MemoryServer`), and what the handler wrote is read back
by :mod:`http.client` and urllib3 as any server's reply would be: the same statuses, headers
and bodies as over loopback, faults included (a reset connection is a ``ConnectionError``, a
stream cut off is a protocol error when it is read).

Without threads the handler runs to its end before the reply is read, so a streamed reply
arrives in one piece; it is still chunked NDJSON, read chunk by chunk like a stream. Pacing
would only delay that piece, so a sandbox answering in-process is best made with ``pace=0``.

The client does not import the sandbox, nor the sandbox the client: whoever holds both mounts
the adapter (``PuterClient(sandbox.origin, sandbox.token, adapter=sandbox.in_process())``).
"""

from __future__ import annotations

import http.client
import io
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse
from urllib3._collections import HTTPHeaderDict

from .server import MemoryServer, ServerHost

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["IN_PROCESS_ORIGIN", "InProcessAdapter"]

IN_PROCESS_ORIGIN = "http://sandbox.localhost"  # a loopback name: nothing listens there


class _Replay:
    """What :class:`http.client.HTTPResponse` reads a reply from: the bytes the handler wrote."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BytesIO:
        return io.BytesIO(self._data)


def request_bytes(request: requests.PreparedRequest) -> bytes:
    """*request* as it would go over the wire (HTTP/1.1, ``Connection: close``)."""
    url = urlsplit(request.url or "/")
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not isinstance(body, bytes):
        raise TypeError("the in-process sandbox takes bodies of bytes, not streams")
    headers: dict[str, str] = {"Host": url.netloc}
    headers.update(request.headers)
    headers["Connection"] = "close"
    if body:
        headers["Content-Length"] = str(len(body))
    head = [f"{request.method} {request.path_url} HTTP/1.1"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


class InProcessAdapter(HTTPAdapter):
    """Answers every request sent through it as *sandbox* would over HTTP (see the module)."""

    def __init__(self, sandbox: ServerHost) -> None:
        super().__init__(max_retries=0)
        self.sandbox = sandbox
        self._server = MemoryServer(sandbox)

    def __repr__(self) -> str:
        return f"<InProcessAdapter {self.sandbox!r}>"

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        data, reset = self._server.answer(request_bytes(request))
        reply = http.client.HTTPResponse(_Replay(data), method=request.method)  # type: ignore[arg-type]
        try:
            reply.begin()
        except (http.client.HTTPException, OSError) as exc:
            why = "reset the connection" if reset else "closed the connection without a reply"
            message = f"the in-process sandbox {why} ({exc!r})"
            raise requests.ConnectionError(message, request=request) from None
        headers = HTTPHeaderDict()
        for name, value in reply.getheaders():
            headers.add(name, value)
        raw = HTTPResponse(
            body=reply,
            headers=headers,
            status=reply.status,
            version=reply.version,
            reason=reply.reason,
            preload_content=False,
            decode_content=False,
            original_response=reply,
            request_method=request.method,
            request_url=request.url,
        )
        response = self.build_response(request, raw)
        if not stream:
            response.content  # noqa: B018  (read now, as requests does for stream=False)
        return response
