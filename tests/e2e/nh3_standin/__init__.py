"""The strict nh3 stand-in of the JupyterLite test site, and the wheel that carries it."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
VERSION = "0.3.4+standin"


def build_wheel(into: Path) -> Path:
    """A pure-Python wheel named nh3 holding only the stand-in module (no download, no build tool)."""
    name = f"nh3-{VERSION}-py3-none-any.whl"
    dist = f"nh3-{VERSION}.dist-info"
    files = {
        "nh3.py": (HERE / "nh3.py").read_bytes(),
        f"{dist}/METADATA": (
            f"Metadata-Version: 2.1\nName: nh3\nVersion: {VERSION}\n"
            "Summary: puter-magic's strict test stand-in for nh3 (never published)\n"
        ).encode(),
        f"{dist}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: puter-magic-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
        f"{dist}/top_level.txt": b"nh3\n",
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    into.mkdir(parents=True, exist_ok=True)
    wheel = into / name
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in files.items():
            zf.writestr(zipfile.ZipInfo(path, (2026, 1, 1, 0, 0, 0)), data)
    return wheel
