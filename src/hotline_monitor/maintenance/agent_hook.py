"""Build the maintenance service the agent runs, with its scheduled jobs."""

from __future__ import annotations

from typing import Any

from hotline_monitor.maintenance.delivery import open_outbox
from hotline_monitor.maintenance.jobs import install_jobs
from hotline_monitor.maintenance.service import MaintenanceService
from hotline_monitor.notify.message import MessageSink


def build_maintenance(config: Any, sink: MessageSink | None = None,
                      delivery_lookup: Any = None,
                      page_sink: MessageSink | None = None) -> MaintenanceService:
    """Return the service with the daily backup and monthly report installed.

    Without `sink`, notices go to the outbox in the state folder, which the
    dispatcher polls, so they are sent within about a second.

    `sink` receives the bureau's notices. `page_sink`, when given, receives
    the pages the gate forwards (the outbox). The alerting engine should then
    send to `service.gate` instead of the outbox.
    """
    close = None
    if sink is None:
        sink, delivery_lookup, close = open_outbox(config)
    service = MaintenanceService(config, sink, delivery_lookup, page_sink)
    if close is not None:
        service.closers.append(close)
    install_jobs(service)
    return service
