"""The daily backup and the monthly report, run from `due_notices` at their local hour.

Each run is recorded in the ledger's `schedule_marks` under a name that
contains its date, so a restart or a second tick in the same hour does not
repeat it. A run missed while the agent was down happens at the next tick.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from hotline_monitor.maintenance import backup
from hotline_monitor.maintenance.ledger import LEDGER_FILE
from hotline_monitor.maintenance.service import ARCHIVE_DIR, MaintenanceService
from hotline_monitor.maintenance.timeinput import NS
from hotline_monitor.reports.build import build_report, previous_month, send_report
from hotline_monitor.timeutil import SHANGHAI

log = logging.getLogger(__name__)


def install_jobs(service: MaintenanceService) -> None:
    """Add the daily backup (when a folder is configured) and the monthly report."""
    settings = service.settings
    if settings.backup.folder is not None:
        service.scheduled_jobs.append(lambda now_ns: daily_backup(service, now_ns))
    if settings.report_day is not None:
        service.scheduled_jobs.append(lambda now_ns: monthly_report(service, now_ns))


def daily_backup(service: MaintenanceService, now_ns: int) -> bool:
    settings = service.settings.backup
    local = _local(now_ns)
    if settings.folder is None or local.hour < settings.at_hour:
        return False
    mark = f"backup:{local:%Y-%m-%d}"
    if service.ledger.is_done(mark):
        return False
    config = service.config
    backup.backup(config.state_dir / LEDGER_FILE, config.state_dir / ARCHIVE_DIR,
                  settings.folder, settings.keep, now_ns)
    service.ledger.mark_done(mark, now_ns)
    return True


def monthly_report(service: MaintenanceService, now_ns: int) -> bool:
    settings = service.settings
    local = _local(now_ns)
    if settings.report_day is None or local.day < settings.report_day:
        return False
    if local.day == settings.report_day and local.hour < settings.report_hour:
        return False
    period = previous_month(now_ns)
    mark = f"report:monthly:{period.label}"
    if service.ledger.is_done(mark):
        return False
    files = build_report(service.config, service.ledger, period, now_ns)
    for note in files.notes:
        log.warning("monthly report %s: %s", period.label, note)
    send_report(files, service.sender, service.config.site, settings.notice_hours, now_ns)
    service.ledger.mark_done(mark, now_ns)
    log.info("monthly report %s built and sent", period.label)
    return True


def _local(now_ns: int) -> datetime:
    return datetime.fromtimestamp(now_ns / NS, UTC).astimezone(SHANGHAI)
