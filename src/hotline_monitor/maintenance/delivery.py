"""Connect notices to the delivery layer's outbox, when it is installed.

The outbox (`state_dir/outbox.sqlite`) is the durable queue that the agent's
dispatcher empties. A CLI command that sends a notice enqueues into the same
file, so the notice goes out even when the agent is the only process that
talks to the channels.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from hotline_monitor.maintenance.notices import DeliveryLookup
from hotline_monitor.notify.message import MessageSink

log = logging.getLogger(__name__)


OpenedOutbox = tuple[MessageSink | None, DeliveryLookup | None, Callable[[], None]]


def open_outbox(config: Any) -> OpenedOutbox:
    """Return (sink, delivery lookup, close) for the configured outbox, or Nones without one."""
    try:
        from hotline_monitor.notify.outbox import Outbox  # type: ignore[import-not-found]
    except ImportError:
        log.warning("the delivery layer (hotline_monitor.notify.outbox) is not installed:"
                    " notices are archived but not sent")
        return None, None, lambda: None

    from hotline_monitor.notify.service import OUTBOX_FILE  # type: ignore[import-not-found]

    outbox = Outbox(config.state_dir / OUTBOX_FILE, config.notify.deadlines.for_severity)
    return outbox, outbox_lookup(outbox), outbox.close


def outbox_lookup(outbox: Any) -> DeliveryLookup:
    """Read one message's delivery results from the outbox as plain dicts."""

    def lookup(key: str) -> list[dict[str, Any]]:
        return [{"channel": row.channel, "address": row.address, "state": row.state,
                 "attempts": row.attempts, "error": row.last_error, "answer": row.answer}
                for row in outbox.deliveries(key)]

    return lookup
