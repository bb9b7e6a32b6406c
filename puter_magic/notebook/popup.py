"""The "Sign in with Puter" button: Puter's popup sign-in, from the notebook page.

A widget (anywidget; its JavaScript is ``popup.js`` beside this file) that opens Puter's
sign-in popup from the user's click, as puter.js does, and hands the token it gets back to
the kernel as a custom comm message. The browser side of the protocol, and the checks it
makes on every message, are written at the top of ``popup.js``.

What the widget syncs (and so what a saved notebook's widget state can hold): the GUI
origin, whether a guest account may be made, and the line it shows. **Never the token**: it
arrives in :meth:`SignInButton._on_custom` and goes straight to the callback the sign-in
flow gave, which keeps it in the kernel.

Messages from the page (``kind``): ``rendered`` (``popups``: whether this view can open a
popup at all; VS Code's outputs cannot), ``opened``, ``blocked`` (the browser's popup
blocker said no; the button stays for another click), ``cancelled`` (``reason``: ``closed``,
the popup was closed before it answered; ``refused``, it answered without a token), and
``token``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
from traitlets import Bool, Unicode

__all__ = ["SignInButton"]


class SignInButton(anywidget.AnyWidget):
    """The button; it reports what happened in the page to *on_event* (``kind``, details).

    Attributes (kernel side only, never synced):
        rendered: a view of it was shown in the page.
        popups: every view shown can open a popup (False: e.g. VS Code's outputs).
        blocked: the last click's popup was blocked by the browser.
    """

    _esm = Path(__file__).with_name("popup.js")
    gui_origin = Unicode("").tag(sync=True)
    guest = Bool(True).tag(sync=True)
    state = Unicode("ready").tag(sync=True)  # ready | checking | signed-in
    message = Unicode("").tag(sync=True)  # the line beside the button (or instead of it)
    tone = Unicode("note").tag(sync=True)  # note | warn | done
    # Signed in: the "Signed in…" note's own HTML (views.Note, every part escaped there), which
    # the row becomes, so a click after the cell ended shows what a waiting cell shows.
    note_html = Unicode("").tag(sync=True)

    def __init__(self, gui_origin: str, *, guest: bool, on_event: Callable[[str, dict[str, Any]], None]):
        super().__init__(gui_origin=gui_origin, guest=guest)
        self._on_event = on_event
        self.rendered = False
        self.popups = True
        self.blocked = False
        self.on_msg(self._on_custom)

    def _on_custom(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or not isinstance(content.get("kind"), str):
            return
        kind = content["kind"]
        if kind == "rendered":
            self.rendered = True
            self.popups = self.popups and content.get("popups") is not False
        elif kind in ("opened", "blocked"):
            self.blocked = kind == "blocked"
        elif kind == "token":
            token = content.get("token")
            if not isinstance(token, str) or not token.strip():
                return
            self._on_event("token", {"token": token.strip()})
            return
        elif kind != "cancelled":
            return
        self._on_event(kind, {k: v for k, v in content.items() if k in ("reason", "popups")})

    def show(
        self, message: str, *, state: str | None = None, tone: str = "note", note_html: str = ""
    ) -> None:
        """Put *message* beside the button (``state="signed-in"``: instead of it, shown as
        *note_html* where given)."""
        with self.hold_sync():
            if state is not None:
                self.state = state
            self.tone = tone
            self.note_html = note_html
            self.message = message

    def __repr__(self) -> str:
        # The text/plain of the button's output: what a frontend without widgets shows.
        if self.state == "signed-in":
            return self.message
        return f"Sign in with Puter: a button in JupyterLab, Notebook, Colab ({self.gui_origin})"
