"""Fixtures shared with the other real-frontend tests: a private JupyterLab and Chromium
(tests/browser/), a terminal IPython in tmux (tests/test_frontends.py)."""

from __future__ import annotations

from ..browser.conftest import lab, lab_root, page, playwright_browser  # noqa: F401
from ..test_frontends import terminal  # noqa: F401
