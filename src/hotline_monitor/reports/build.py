"""Build a report's files, archive them, and send the monthly one to the bureau."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hotline_monitor.maintenance.ledger import Ledger
from hotline_monitor.maintenance.notices import NoticeSender
from hotline_monitor.maintenance.timeinput import NS
from hotline_monitor.reports import pdf
from hotline_monitor.reports.figures import Period, ReportFigures, compute, month_period
from hotline_monitor.reports.render import percent, report_title, write_excel, write_html
from hotline_monitor.timeutil import SHANGHAI

log = logging.getLogger(__name__)

REPORTS_DIR = "reports"
NO_PDF_ENGINE = ("未安装 PDF 生成工具（weasyprint、wkhtmltopdf 或 chromium），"
                 "本次只生成 HTML 和 Excel。")


@dataclass
class ReportFiles:
    figures: ReportFigures
    html: Path
    excel: Path
    pdf: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def paths(self) -> list[Path]:
        return [path for path in (self.html, self.pdf, self.excel) if path is not None]


def build_report(config: Any, ledger: Ledger, period: Period, now_ns: int,
                 folder: Path | None = None) -> ReportFiles:
    """Write HTML, Excel and (when an engine exists) PDF for `period` into `folder`."""
    folder = folder or config.state_dir / REPORTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    settings = config.maintenance
    figures = compute(ledger, period, settings.outage.limit, settings.notice_hours, now_ns)
    stem = f"report-{period.kind}-{period.label}"
    files = ReportFiles(figures, folder / f"{stem}.html", folder / f"{stem}.xlsx")

    write_html(figures, config.site, files.html, now_ns)
    write_excel(figures, config.site, files.excel)
    pdf_path = folder / f"{stem}.pdf"
    try:
        engine = pdf.html_to_pdf(files.html, pdf_path)
    except (RuntimeError, OSError) as err:
        files.notes.append(f"PDF 生成失败：{err}")
        log.error("PDF of %s failed: %s", stem, err)
    else:
        if engine is None:
            files.notes.append(NO_PDF_ENGINE)
        else:
            files.pdf = pdf_path
    return files


def send_report(files: ReportFiles, sender: NoticeSender, site: str, notice_hours: float,
                now_ns: int) -> bool:
    """Send the report's files to the bureau (kind `report`) and archive them with the notice."""
    figures = files.figures
    period = figures.period
    context = {
        "site": site, "title": report_title(figures), "period": period.title,
        "files": "、".join(path.name for path in files.paths),
        "availability": percent(figures.availability),
        "interruptions": len(figures.interruptions), "breaches": len(figures.breaches),
        "battery": len(figures.battery), "windows": len(figures.windows),
        "late": len(figures.late_windows), "notice_hours": f"{notice_hours:g}",
    }
    key = f"report:{period.kind}:{period.label}"
    message = sender.build(key, "report", "report", context, message_kind="report")
    return sender.send(message, "report", now_ns, attachments=files.paths)


def previous_month(now_ns: int) -> Period:
    local = datetime.fromtimestamp(now_ns / NS, UTC).astimezone(SHANGHAI)
    year, month = (local.year - 1, 12) if local.month == 1 else (local.year, local.month - 1)
    return month_period(f"{year:04d}-{month:02d}")
