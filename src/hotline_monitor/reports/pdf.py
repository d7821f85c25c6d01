"""Turn the HTML report into PDF with whichever engine is installed.

Tried in order: the weasyprint Python package, the `weasyprint` command,
`wkhtmltopdf`, and a headless Chromium. None of them is a dependency of the
project; without one, the report is HTML and Excel only.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

TIMEOUT_S = 120

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_engine() -> tuple[str, list[str]] | None:
    """Return (name, command prefix) of the first PDF engine found, or None."""
    try:
        import weasyprint  # type: ignore[import-not-found]  # noqa: F401

        return "weasyprint", []
    except ImportError:
        pass
    if shutil.which("weasyprint"):
        return "weasyprint-cli", ["weasyprint"]
    if shutil.which("wkhtmltopdf"):
        return "wkhtmltopdf", ["wkhtmltopdf", "--quiet", "--encoding", "utf-8"]
    for name in CHROMIUM_NAMES:
        if shutil.which(name):
            return name, [name, "--headless", "--disable-gpu", "--no-sandbox"]
    return None


def html_to_pdf(html_path: Path, pdf_path: Path) -> str | None:
    """Write the PDF; return the engine's name, or None when no engine is installed.

    Raises RuntimeError with the engine's output when it fails.
    """
    engine = find_engine()
    if engine is None:
        return None
    name, prefix = engine
    if name == "weasyprint":
        import weasyprint  # type: ignore[import-not-found]

        weasyprint.HTML(filename=str(html_path)).write_pdf(str(pdf_path))
        return name
    if name in CHROMIUM_NAMES:
        command = [*prefix, f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri()]
    else:
        command = [*prefix, str(html_path), str(pdf_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S,
                            check=False)
    if result.returncode != 0 or not pdf_path.exists():
        raise RuntimeError(f"{name} 生成 PDF 失败（退出码 {result.returncode}）："
                           f"{result.stderr[-500:]}")
    return name
