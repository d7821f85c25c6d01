"""Assemble the delivery layer from the configuration.

    notifier = build_notifier(config)
    engine = AlertEngine(config, sink=notifier.outbox)   # any MessageSink user
    await notifier.start()          # inside the running event loop
    ...
    await notifier.drain(10.0)      # optional: wait until everything is sent
    await notifier.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from hotline_monitor.config.model import Config
from hotline_monitor.notify.channels.base import Channel
from hotline_monitor.notify.channels.registry import build_channels
from hotline_monitor.notify.dispatcher import Dispatcher
from hotline_monitor.notify.masking import install_log_filters
from hotline_monitor.notify.outbox import Outbox
from hotline_monitor.notify.render import Renderer

log = logging.getLogger(__name__)

OUTBOX_FILE = "outbox.sqlite"


class Notifier:
    """The outbox (a MessageSink) and the dispatcher task that empties it."""

    def __init__(self, outbox: Outbox, dispatcher: Dispatcher,
                 channels: dict[str, Channel]) -> None:
        self.outbox = outbox
        self.dispatcher = dispatcher
        self.channels = channels
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the dispatcher in the running loop; pending deliveries resume at once."""
        if self._task is None:
            self._task = asyncio.create_task(self.dispatcher.run(), name="notify-dispatcher")

    async def drain(self, timeout: float) -> bool:
        """Wait until no delivery is pending or in flight; False when `timeout` s passed first."""
        return await self.dispatcher.drain(timeout)

    async def stop(self) -> None:
        """Stop sending; what is still pending stays in the outbox for the next start."""
        self.dispatcher.stop()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.dispatcher.close()
        for channel in self.channels.values():
            await channel.close()
        self.outbox.close()


def build_notifier(config: Config) -> Notifier:
    """Build the outbox in `state_dir/outbox.sqlite`, the channels and the dispatcher.

    Raises ConfigError when a channel's optional SDK is not installed.
    """
    install_log_filters()
    renderer = Renderer(config.notify.templates_dir)
    channels = build_channels(config.channels, renderer)
    outbox = Outbox(config.state_dir / OUTBOX_FILE, config.notify.deadlines.for_severity)
    fallbacks = {name: (channel.fallback, list(channel.fallback_to))
                 for name, channel in config.channels.items()}
    dispatcher = Dispatcher(outbox, channels, fallbacks, config.notify)
    return Notifier(outbox, dispatcher, channels)
