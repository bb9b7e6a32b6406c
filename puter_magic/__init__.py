"""puter-magic: Puter's AI driver API in IPython and Jupyter.

``%load_ext puter_magic`` registers the magics. ``PuterClient`` works without IPython.
Importing this package loads no IPython display machinery, ipywidgets, markdown or nh3:
each loads when first needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

__all__ = [
    "APIError",
    "AudioResult",
    "AuthError",
    "BadRequest",
    "BinaryResult",
    "BudgetExceeded",
    "ChatReply",
    "ChatStream",
    "ChunkStream",
    "ImageResult",
    "MalformedResponse",
    "MediaInputError",
    "ModelInfo",
    "ModelNotFound",
    "NotConfigured",
    "NotFound",
    "NotSignedIn",
    "OCRResult",
    "PermissionDenied",
    "PuterClient",
    "PuterConnectionError",
    "PuterError",
    "PuterPath",
    "PuterTimeout",
    "RateLimited",
    "RedirectRefused",
    "ReplayMiss",
    "ServerError",
    "StreamError",
    "Transcript",
    "UsageLimited",
    "__version__",
    "load_ipython_extension",
    "model_selector",
    "unload_ipython_extension",
]

_LAZY = {
    "PuterClient": "api.client",
    "ChatStream": "api.chat",
    "ChunkStream": "api.chunks",
    "ModelInfo": "api.models",
    "BinaryResult": "api.protocol",
    "ChatReply": "api.chat",
    "AudioResult": "api.media_results",
    "ImageResult": "api.media_results",
    "OCRResult": "api.media_results",
    "Transcript": "api.media_results",
    "MediaInputError": "api.media",
    "PuterPath": "api.media",
    "APIError": "api.errors",
    "AuthError": "api.errors",
    "BadRequest": "api.errors",
    "BudgetExceeded": "api.errors",
    "MalformedResponse": "api.errors",
    "ModelNotFound": "api.errors",
    "NotConfigured": "api.errors",
    "NotFound": "api.errors",
    "NotSignedIn": "api.errors",
    "PermissionDenied": "api.errors",
    "PuterConnectionError": "api.errors",
    "PuterError": "api.errors",
    "PuterTimeout": "api.errors",
    "RateLimited": "api.errors",
    "RedirectRefused": "api.errors",
    "ReplayMiss": "api.errors",
    "ServerError": "api.errors",
    "StreamError": "api.errors",
    "UsageLimited": "api.errors",
}


if TYPE_CHECKING:
    from .api.chat import ChatReply, ChatStream
    from .api.chunks import ChunkStream
    from .api.client import PuterClient
    from .api.errors import (
        APIError,
        AuthError,
        BadRequest,
        BudgetExceeded,
        MalformedResponse,
        ModelNotFound,
        NotConfigured,
        NotFound,
        NotSignedIn,
        PermissionDenied,
        PuterConnectionError,
        PuterError,
        PuterTimeout,
        RateLimited,
        RedirectRefused,
        ReplayMiss,
        ServerError,
        StreamError,
        UsageLimited,
    )
    from .api.media import MediaInputError, PuterPath
    from .api.media_results import AudioResult, ImageResult, OCRResult, Transcript
    from .api.models import ModelInfo
    from .api.protocol import BinaryResult


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'puter_magic' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def model_selector() -> Any:
    """The model selector widget of the running notebook (loads the extension if needed)."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise RuntimeError("model_selector() needs a running IPython or Jupyter kernel")
    if "PuterMagics" not in shell.magics_manager.registry:
        load_ipython_extension(shell)
    return shell.magics_manager.registry["PuterMagics"].model_selector()


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics (``%load_ext puter_magic``)."""
    from .notebook.magics import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the magics (``%unload_ext puter_magic``)."""
    from .notebook.magics import unload

    unload(ipython)
