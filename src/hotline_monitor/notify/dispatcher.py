"""The dispatcher: an asyncio task that sends what the outbox holds.

Deliveries of one channel go out one after another, in the order they were
enqueued, so that a group reads "alert" before "recovery"; channels work in
parallel. A delivery is marked `sending` (committed) just before the provider
call and `sent` only on the provider's success answer.

Failures: DeliveryRetry → back to `pending` with exponential backoff (or the
provider's retry-after) until the severity's deadline; DeliveryRejected or a
missed deadline → `failed`, and the channel's fallback takes over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from hotline_monitor.errors import DeliveryRejected, DeliveryRetry
from hotline_monitor.notify.channels.base import Channel, Delivery
from hotline_monitor.notify.config import NotifyConfig
from hotline_monitor.notify.masking import mask_text
from hotline_monitor.notify.message import OutgoingMessage, Recipient
from hotline_monitor.notify.outbox import Outbox

log = logging.getLogger(__name__)

IDLE_POLL_S = 1.0
"""Maximum sleep between reads of the outbox when nothing woke the dispatcher."""


class Dispatcher:
    """Sends due deliveries through their channels; fails over to fallbacks."""

    def __init__(self, outbox: Outbox, channels: Mapping[str, Channel],
                 fallbacks: Mapping[str, tuple[str | None, list[str]]],
                 settings: NotifyConfig) -> None:
        self.outbox = outbox
        self.channels = channels
        self.fallbacks = fallbacks
        """Channel name → (fallback channel name or None, fallback addresses)."""
        self.settings = settings
        self._queues: dict[str, asyncio.Queue[Delivery]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._queued: set[int] = set()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        outbox.add_listener(self._wake_threadsafe)

    async def run(self) -> None:
        """Send deliveries until `stop` is called."""
        self._loop = asyncio.get_running_loop()
        recovered = self.outbox.recover_in_flight()
        if recovered:
            log.warning("%d deliveries were in flight when the last process stopped; "
                        "sending them again marked as resent", recovered)

        while not self._stopping:
            self._queue_due()
            await self._sleep_until_next()

    async def drain(self, timeout: float) -> bool:
        """Run until nothing is pending or in flight, or `timeout` s pass; True when idle."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            counts = self.outbox.counts()
            if not counts.get("pending") and not counts.get("sending") and not self._queued:
                return True
            await asyncio.sleep(0.02)
        return False

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def close(self) -> None:
        """Stop the workers; a delivery interrupted mid-call stays `sending` for 重发."""
        self.stop()
        for task in self._workers.values():
            task.cancel()
        for task in self._workers.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers.clear()

    def _wake_threadsafe(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    def _queue_due(self) -> None:
        for delivery in self.outbox.due(time.time_ns()):
            if delivery.id in self._queued:
                continue
            self._queued.add(delivery.id)
            self._queue_for(delivery.channel).put_nowait(delivery)

    def _queue_for(self, channel: str) -> asyncio.Queue[Delivery]:
        if channel not in self._queues:
            self._queues[channel] = asyncio.Queue()
            self._workers[channel] = asyncio.create_task(self._work(channel),
                                                         name=f"notify:{channel}")
        return self._queues[channel]

    async def _sleep_until_next(self) -> None:
        # Deliveries already due are queued to the workers, so only a later one
        # (a retry) sets the wake-up time. New messages, retries and fallbacks
        # set `_wake`, and so does a worker whose queue ran empty.
        now = time.time_ns()
        next_due = self.outbox.next_due_ns(after_ns=now)
        wait = IDLE_POLL_S
        if next_due is not None:
            wait = min(IDLE_POLL_S, max(0.0, (next_due - now) / 1e9))
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def _work(self, channel_name: str) -> None:
        queue = self._queues[channel_name]
        while True:
            delivery = await queue.get()
            try:
                await self._deliver(delivery)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - one bad delivery must not stop the channel
                log.exception("delivery %d through %s failed unexpectedly; retrying later",
                              delivery.id, channel_name)
                self._retry(delivery, "内部错误，稍后重试", None, outcome_unknown=True)
            finally:
                self._queued.discard(delivery.id)
                if queue.empty():
                    self._wake.set()

    async def _deliver(self, delivery: Delivery) -> None:
        channel = self.channels.get(delivery.channel)
        if channel is None:
            self._fail(delivery, f"渠道 {delivery.channel} 未配置")
            return
        if time.time_ns() > self.outbox.deadline_ns(delivery.id):
            self._fail(delivery, "超过发送时限仍未成功")
            return

        await channel.wait_turn()
        self.outbox.mark_sending(delivery.id)
        try:
            answer = await channel.send(delivery)
        except DeliveryRetry as err:
            self._retry(delivery, str(err), err.retry_after, err.outcome_unknown)
        except DeliveryRejected as err:
            self._fail(delivery, str(err))
            if err.operator_alert:
                self._alert_operator(delivery.channel, str(err))
        else:
            self.outbox.mark_sent(delivery.id, mask_text(answer))
            log.info("message %s sent through %s (delivery %d)", delivery.message.key,
                     delivery.channel, delivery.id)

    def _retry(self, delivery: Delivery, error: str, retry_after: float | None,
               outcome_unknown: bool) -> None:
        attempts = delivery.attempts + 1
        backoff = min(self.settings.retry_max, self.settings.retry_initial * 2 ** (attempts - 1))
        delay = max(backoff, retry_after or 0.0)
        next_attempt = time.time_ns() + int(delay * 1e9)
        if next_attempt > self.outbox.deadline_ns(delivery.id):
            self._fail(delivery, f"{error}；重试将超过发送时限")
            return

        log.warning("delivery %d through %s failed (%s); retry %d in %.1f s",
                    delivery.id, delivery.channel, mask_text(error), attempts, delay)
        self.outbox.reschedule(delivery.id, next_attempt, mask_text(error), outcome_unknown)
        self._wake.set()

    def _fail(self, delivery: Delivery, error: str) -> None:
        """Give up on this channel and hand the message to its fallback."""
        self.outbox.mark_failed(delivery.id, mask_text(error))
        fallback, addresses = self.fallbacks.get(delivery.channel, (None, []))
        if fallback is None or fallback not in self.channels:
            log.error("message %s could not be delivered through %s (%s) and no fallback "
                      "channel is configured", delivery.message.key, delivery.channel,
                      mask_text(error))
            return

        targets = addresses or ([delivery.address] if delivery.address else delivery.mentions)
        deadline = self.settings.deadlines.for_severity(delivery.message.severity)
        ids = self.outbox.add_fallback(delivery, fallback, targets or [""], deadline)
        log.warning("message %s failed through %s (%s); falling back to %s (deliveries %s)",
                    delivery.message.key, delivery.channel, mask_text(error), fallback, ids)
        self._wake.set()

    def _alert_operator(self, broken_channel: str, error: str) -> None:
        recipients = [Recipient(channel=item.channel, address=item.address)
                      for item in self.settings.operator if item.channel != broken_channel]
        if not recipients:
            log.error("channel %s is broken (%s) and no operator recipient on another channel "
                      "is configured (notify.operator)", broken_channel, mask_text(error))
            return

        # One operator message per broken channel and day is enough.
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        self.outbox.enqueue(OutgoingMessage(
            key=f"operator:{broken_channel}:{day}", kind="operator", severity="critical",
            title=f"通知渠道 {broken_channel} 不可用",
            text=f"渠道 {broken_channel} 发送失败：{mask_text(error)}。请检查该渠道的配置和密钥。",
            recipients=recipients))
