"""The real-browser fixtures (a private JupyterLab, Chromium) shared with tests/browser/."""

from __future__ import annotations

from ..browser.conftest import lab, lab_root, page, playwright_browser  # noqa: F401
