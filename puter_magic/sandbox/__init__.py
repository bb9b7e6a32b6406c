"""A Puter-compatible server on 127.0.0.1, for offline teaching, the demo and the tests.

>>> from puter_magic.sandbox import Sandbox
>>> with Sandbox() as sandbox:                                   # doctest: +SKIP
...     client = PuterClient(sandbox.origin, sandbox.token)
...     client.chat("Hello", model="sandbox-tutor").text

It speaks ``POST /drivers/call`` (``puter-chat-completion``: ``complete``, ``list``,
``models``; images, text-to-speech, speech-to-text and OCR: :mod:`.media`), ``GET /whoami``,
``/drivers/list-interfaces``,
the public model catalogue and an AuthMe page, with Puter's own errors. See
:mod:`puter_magic.sandbox.models` for its models and :class:`Fault` for scripted failures.
``error_style="legacy"`` answers driver errors in the older HTTP-200 ``success: false`` form.

With ``gui_host`` it also plays Puter's GUI site on an origin of its own: the sign-in popup
that puter.js opens, guest accounts, app tokens (:mod:`puter_magic.sandbox.gui`).

From a shell: ``python -m puter_magic.sandbox`` prints its origin and token (``--gui``: both
origins).

Where Python cannot listen (Pyodide in a browser), :meth:`Sandbox.in_process` gives a
``requests`` transport adapter that answers the same way with no socket and no thread
(:mod:`.in_process`).
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from typing import TYPE_CHECKING, Any

from .faults import Fault
from .gui import GUI, is_loopback_host
from .limits import TIERS, Limits
from .metering import Metering
from .models import MODELS
from .server import RecordedRequest, SandboxHTTPServer

if TYPE_CHECKING:
    from .in_process import InProcessAdapter

__all__ = ["MODELS", "Fault", "RecordedRequest", "Sandbox"]


class Sandbox:
    """Runs the sandbox server in a background thread.

    Args:
        port: 0 picks a free port.
        token: the token it accepts (default: a new random one); ``add_token`` adds more.
        pace: seconds between streamed chunks of the sandbox models.
        slow_pace: override the pace of ``sandbox-slow`` (default 0.06 s).
        think_time: seconds before every chat reply starts.
        error_style: ``"current"`` (real statuses, flat bodies) or ``"legacy"`` (HTTP 200,
            ``success: false``).
        api_host: if set, route like self-hosted Puter: the API answers only this Host
            name (e.g. ``api.puter.localhost``), other hosts get the GUI or a 404.
        gui_host: if set (e.g. ``puter.localhost``), this Host name is Puter's GUI site: the
            sign-in popup, guest accounts and app tokens, with switches on ``sandbox.gui``
            (:mod:`puter_magic.sandbox.gui`). ``api_host`` then defaults to ``"api." + gui_host``.
        authme_auto_approve: the AuthMe page approves at once (for tests).
        media_providers: images, speech and OCR have providers; False answers like a
            self-hosted Puter without provider keys (see :mod:`puter_magic.sandbox.media`).
        rate_limit: ``(requests, seconds)``: Puter's AI rate limit, per (interface, method),
            e.g. ``(30, 10.0)`` as for a free account (None: no limit).
        concurrency_limit: the most AI calls at once per (interface, method), e.g. 3.
        credit_calls: the account's credit runs out after this many AI calls (then 402
            ``insufficient_funds``). See :mod:`puter_magic.sandbox.limits`.
        guest: the account is a temporary (guest) one: ``is_temp`` and a guest's smaller
            allowance ($0.25 a month instead of $0.50).
        allowance: the account's monthly allowance in microcents (default: Puter's $0.50);
            calls that cost something spend it, and once it is gone they answer 402
            (see :mod:`puter_magic.sandbox.metering`).
        credit_multiplier: answer ``/metering/usage`` in credits (USD × this, ``unit:
            "credits"``) instead of microcents, as a deployment with a multiplier does.
        tier: the account's plan, with Puter's limits for it unless *rate_limit* or
            *concurrency_limit* says otherwise: ``"temp"`` (a guest, as *guest* says, with a
            guest's limits: 20 per 10 s, 2 at once), ``"free"`` (30 and 3), ``"paid"`` (200 and
            20); None: no limits.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        username: str = "learner",
        pace: float = 0.0,
        slow_pace: float | None = None,
        think_time: float = 0.0,
        error_style: str = "current",
        api_host: str | None = None,
        gui_host: str | None = None,
        authme_auto_approve: bool = False,
        verbose: bool = False,
        media_providers: bool = True,
        rate_limit: tuple[int, float] | None = None,
        concurrency_limit: int | None = None,
        credit_calls: int | None = None,
        guest: bool = False,
        allowance: float | None = None,
        credit_multiplier: float | None = None,
        tier: str | None = None,
    ) -> None:
        if not is_loopback_host(host):
            raise ValueError("the sandbox listens on loopback only")
        if error_style not in ("current", "legacy"):
            raise ValueError("error_style is 'current' or 'legacy'")
        self.host = host
        self.port = port
        self.token = token or "sandbox-" + secrets.token_urlsafe(18)
        self._tokens = {self.token}
        self.username = username
        self.pace = pace
        self.slow_pace = slow_pace
        self.think_time = think_time
        self.error_style = error_style
        if gui_host is not None:
            gui_host = gui_host.lower()
            if not is_loopback_host(gui_host) or gui_host.replace(".", "").isdigit():
                raise ValueError("gui_host is a loopback host name, e.g. puter.localhost")
            api_host = api_host or "api." + gui_host
            if api_host.lower() == gui_host:
                raise ValueError("gui_host and api_host must differ: they are two origins")
        self.api_host = api_host
        self.gui_host = gui_host
        self.authme_auto_approve = authme_auto_approve
        self.verbose = verbose
        self.media_providers = media_providers
        self.generated: dict[str, bytes] = {}  # pictures and videos served at /puter-generated/
        self.video_seconds = 0.3  # how long a video "renders" while its request stays open
        if tier is not None:
            if tier not in TIERS:
                raise ValueError(f"tier is one of {', '.join(TIERS)}, or None")
            rate_limit = rate_limit or TIERS[tier][0]
            concurrency_limit = concurrency_limit or TIERS[tier][1]
            guest = guest or tier == "temp"
        self.tier = tier
        self.limits = Limits(rate_limit, concurrency_limit, credit_calls)
        self.guest = guest
        self.metering = Metering(allowance, credit_multiplier)
        self.metering.add(self.token, username, guest=guest)
        self.requests: list[RecordedRequest] = []
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self.stopping = threading.Event()  # set while the sandbox stops: waits in replies end
        self._server: SandboxHTTPServer | None = None
        # Puter's GUI site (sign-in popup, accounts, app tokens) when gui_host is set
        self.gui: GUI | None = GUI(self, gui_host) if gui_host else None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        self.stopping.clear()
        self._server = SandboxHTTPServer(self, (self.host, self.port))
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"puter-sandbox:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self.stopping.set()
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(5)

    @property
    def running(self) -> bool:
        return self._server is not None

    def in_process(self) -> InProcessAdapter:
        """A ``requests`` transport adapter that answers as this sandbox, in this process, with
        no socket and no thread (for Pyodide in a browser). Mount it on the client's session:
        ``PuterClient(sandbox.origin, sandbox.token, adapter=sandbox.in_process())``. Until the
        sandbox has listened, its origin is a loopback name nothing listens on."""
        from .in_process import InProcessAdapter

        return InProcessAdapter(self)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self.origin if self.running else ("not listening" if self.port == 0 else "stopped")
        return f"<Sandbox {state} token=<hidden> requests={len(self.requests)}>"

    # -- addresses and accounts --------------------------------------------------

    @property
    def origin(self) -> str:
        """The API origin to give a client (before it ever listened: the name it answers
        by in-process, see :meth:`in_process`)."""
        if self.port == 0:
            from .in_process import IN_PROCESS_ORIGIN

            return IN_PROCESS_ORIGIN
        return f"http://{self.api_host or self.host}:{self.port}"

    @property
    def gui_origin(self) -> str:
        """The GUI site's origin: the sign-in popup with ``gui_host``; otherwise the AuthMe page."""
        if self.port == 0:
            return self.origin
        if self.gui_host:
            return f"http://{self.gui_host}:{self.port}"
        if self.api_host and self.api_host.startswith("api."):
            return f"http://{self.api_host[4:]}:{self.port}"
        return f"http://{self.host}:{self.port}"

    def add_token(self, token: str, *, app_uid: str | None = None) -> None:
        """Accept *token* too, for the same account; *app_uid* makes it an app's token (as the
        sign-in popup's are), which sees only that app's usage in ``/metering/usage``."""
        self._tokens.add(token)
        self.metering.add(token, self.username, guest=self.guest, app_uid=app_uid)

    def revoke_token(self, token: str) -> None:
        self._tokens.discard(token)
        if self.gui is not None:
            self.gui.revoke(token)

    def account(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "uuid": "00000000-0000-4000-8000-000000000001",
            "email": None,
            "email_confirmed": True,
            "is_temp": self.guest,
            "is_user_token": True,
            "feature_flags": {},
            "metadata": {},
            "sandbox": True,
        }

    # -- faults and records -------------------------------------------------------

    def inject(self, *faults: Fault) -> None:
        """Queue scripted replies; each answers the next request(s) to its path."""
        with self._lock:
            self._faults.extend(faults)

    def clear(self) -> None:
        """Forget recorded requests and pending faults."""
        with self._lock:
            self.requests.clear()
            self._faults.clear()

    def calls(self, method: str | None = None) -> list[RecordedRequest]:
        """Recorded ``/drivers/call`` requests, optionally only those of one method."""
        with self._lock:
            out = [r for r in self.requests if r.path == "/drivers/call"]
        if method is not None:
            out = [r for r in out if isinstance(r.body, dict) and r.body.get("method") == method]
        return out

    def accepts(self, token: str) -> bool:
        """Whether *token* signs in here (the GUI's sessions and app tokens too)."""
        return token in self._tokens or (self.gui is not None and self.gui.accepts(token))

    def whoami(self, token: str) -> dict[str, Any]:
        """``GET /whoami`` for an accepted token: its own user (and app, for an app token)."""
        found = self.gui.whoami(token) if self.gui is not None else None
        return found if found is not None else self.account()

    def take_fault(self, path: str) -> Fault | None:
        """The scripted reply for the next request to *path*, if one is queued."""
        with self._lock:
            for fault in self._faults:
                if fault.path is None or fault.path == path:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def record(self, request: RecordedRequest) -> None:
        """Keep a request that arrived, for :meth:`calls` (the server calls it)."""
        with self._lock:
            self.requests.append(request)
