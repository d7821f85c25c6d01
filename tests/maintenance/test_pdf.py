"""PDF engine detection and the command each engine is given."""

from __future__ import annotations

import stat
import sys

import pytest

from hotline_monitor.reports import pdf

FAKE_WKHTMLTOPDF = """#!{python}
import sys
arguments = sys.argv[1:]
with open(arguments[-1], "wb") as handle:
    handle.write(b"%PDF-1.4 " + " ".join(arguments).encode())
"""

FAKE_CHROMIUM = """#!{python}
import sys
target = next(a for a in sys.argv if a.startswith("--print-to-pdf=")).split("=", 1)[1]
with open(target, "wb") as handle:
    handle.write(b"%PDF-1.4 " + " ".join(sys.argv[1:]).encode())
"""


def install(folder, name: str, body: str) -> None:
    path = folder / name
    path.write_text(body.format(python=sys.executable), encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def only_path(monkeypatch, tmp_path):
    """Leave only a fresh folder on PATH and hide an installed weasyprint package."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    return folder


def test_no_engine_found(only_path, tmp_path):
    html = tmp_path / "r.html"
    html.write_text("<p>报告</p>", encoding="utf-8")
    assert pdf.find_engine() is None
    assert pdf.html_to_pdf(html, tmp_path / "r.pdf") is None
    assert not (tmp_path / "r.pdf").exists()


def test_wkhtmltopdf_gets_input_then_output(only_path, tmp_path):
    install(only_path, "wkhtmltopdf", FAKE_WKHTMLTOPDF)
    html = tmp_path / "r.html"
    html.write_text("<p>报告</p>", encoding="utf-8")

    assert pdf.html_to_pdf(html, tmp_path / "r.pdf") == "wkhtmltopdf"
    written = (tmp_path / "r.pdf").read_bytes().decode()
    assert written == f"%PDF-1.4 --quiet --encoding utf-8 {html} {tmp_path / 'r.pdf'}"


def test_chromium_prints_file_url(only_path, tmp_path):
    install(only_path, "chromium", FAKE_CHROMIUM)
    html = tmp_path / "r.html"
    html.write_text("<p>报告</p>", encoding="utf-8")

    assert pdf.html_to_pdf(html, tmp_path / "r.pdf") == "chromium"
    written = (tmp_path / "r.pdf").read_bytes().decode()
    assert "--headless" in written
    assert f"--print-to-pdf={tmp_path / 'r.pdf'}" in written
    assert written.endswith(html.resolve().as_uri())


def test_failing_engine_raises_with_output(only_path, tmp_path):
    install(only_path, "wkhtmltopdf", "#!/bin/sh\necho 'cannot load font' >&2\nexit 3\n")
    html = tmp_path / "r.html"
    html.write_text("<p>报告</p>", encoding="utf-8")
    with pytest.raises(RuntimeError, match="wkhtmltopdf 生成 PDF 失败（退出码 3）：cannot load font"):
        pdf.html_to_pdf(html, tmp_path / "r.pdf")
