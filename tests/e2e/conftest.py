"""The terminal IPython in tmux of tests/test_frontends.py, shared here. (The real-browser
tests stay in tests/browser/: a second session-wide Playwright would clash with its own.)"""

from __future__ import annotations

from ..test_frontends import terminal  # noqa: F401
