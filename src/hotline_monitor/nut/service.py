"""Start and stop the NUT server and the shutdown actions beside the agent or the hub."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from functools import partial

from hotline_monitor.alerting.oncall import on_call_recipients
from hotline_monitor.config.model import Config
from hotline_monitor.notify.message import MessageSink, Recipient
from hotline_monitor.nut.config import DEFAULT_MAX_AGE_S
from hotline_monitor.nut.events import ShutdownEventLog
from hotline_monitor.nut.latest import LatestReadings
from hotline_monitor.nut.server import NutServer
from hotline_monitor.nut.shutdown import ShutdownActions


@contextlib.asynccontextmanager
async def power_services(
    config: Config,
    latest: LatestReadings,
    sink: MessageSink,
    recipients: list[Recipient] | Callable[[], list[Recipient]] | None = None,
) -> AsyncIterator[tuple[NutServer | None, ShutdownActions | None]]:
    """Run what `nut_server` and `shutdown_actions` configure while the block runs."""
    server = None
    if config.nut_server is not None:
        server = NutServer(config.nut_server, config.ups, latest)
        await server.start()

    if recipients is None and config.oncall.escalation:
        # Shutdown announcements reach the person on shift, like an emergency page.
        recipients = partial(on_call_recipients, config, "emergency")

    actions = None
    if config.shutdown_actions:
        max_age = config.nut_server.max_age if config.nut_server else DEFAULT_MAX_AGE_S
        actions = ShutdownActions(config.shutdown_actions, config.ups, latest,
                                  ShutdownEventLog(config.state_dir), sink, max_age, recipients)
        await actions.start()

    try:
        yield server, actions
    finally:
        if actions is not None:
            await actions.stop()
        if server is not None:
            await server.stop()
