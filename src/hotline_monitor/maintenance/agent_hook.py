"""Build the maintenance service the agent runs, with its scheduled jobs."""

from __future__ import annotations

from typing import Any

from hotline_monitor.maintenance.jobs import install_jobs
from hotline_monitor.maintenance.service import MaintenanceService
from hotline_monitor.notify.message import MessageSink


def build_maintenance(config: Any, sink: MessageSink | None = None,
                      delivery_lookup: Any = None,
                      page_sink: MessageSink | None = None) -> MaintenanceService:
    """Return the service with the daily backup and monthly report installed.

    `sink` receives the bureau's notices. `page_sink`, when given, receives
    the pages the gate forwards (the outbox). The alerting engine should then
    send to `service.gate` instead of the outbox.
    """
    service = MaintenanceService(config, sink, delivery_lookup, page_sink)
    install_jobs(service)
    return service
