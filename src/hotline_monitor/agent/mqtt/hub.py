"""The hub: consumes agents' readings from MQTT, spools them into InfluxDB, alerts.

Each reading message is committed to the hub's spool before its PUBACK goes
back to the broker (paho runs with manual acknowledgement). So a hub killed at
any moment loses nothing, because the broker redelivers unacknowledged
messages to the persistent session. A message committed but not yet
acknowledged is spooled twice and written to InfluxDB as the same point.

The hub publishes its own heartbeat, which agents watch, and raises
`agent_offline` when an agent's last will arrives or its heartbeats stop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime
from pathlib import Path

import paho.mqtt.client as paho

from hotline_monitor.agent.mqtt import topics
from hotline_monitor.agent.mqtt.connection import (
    build_client,
    connect_in_background,
    default_client_id,
    describe_reason,
)
from hotline_monitor.agent.mqtt.liveness import AgentLiveness
from hotline_monitor.agent.runner import Agent
from hotline_monitor.alerting.notify import AlertMessage
from hotline_monitor.collectors.base import Collector
from hotline_monitor.config.model import Config
from hotline_monitor.notify.message import MessageSink, OutgoingMessage, Recipient
from hotline_monitor.reading import Reading, decode_line, now_ns
from hotline_monitor.timeutil import SHANGHAI

log = logging.getLogger(__name__)

LIVENESS_CHECK_S = 1.0
SUMMARY_CHECK_S = 30.0
# An agent whose last will arrived gets this many heartbeat intervals to
# reconnect (its paho client retries after 1 s, 2 s, 4 s ...) before it is
# reported offline.
WILL_GRACE_HEARTBEATS = 2


class Hub:
    def __init__(self, config: Config, collectors: list[Collector] | None = None,
                 message_sink: MessageSink | None = None) -> None:
        assert config.mqtt is not None  # the config model requires it for role hub
        self.config = config
        self.mqtt = config.mqtt
        self.agent = Agent(config, collectors, message_sink)
        self.spool = self.agent.spool
        self.broker = f"{self.mqtt.host}:{self.mqtt.port}"
        self.liveness = AgentLiveness(config.site, self.mqtt.offline_after,
                                      config.state_dir / "hub_agents.json", time.monotonic(),
                                      will_grace=WILL_GRACE_HEARTBEATS * self.mqtt.heartbeat_interval)
        self.summary_state = config.state_dir / "hub_summary.json"
        self.loop: asyncio.AbstractEventLoop | None = None
        self.received = 0

        offline = json.dumps({"state": "offline", "agent": topics.HUB, "reason": "lost"}).encode()
        self.client = build_client(
            self.mqtt,
            self.mqtt.client_id or default_client_id("hub", config.site, config.agent_id),
            will=(topics.status_topic(config.site, topics.HUB), offline),
            manual_ack=True,
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

        self.agent.extra_jobs += [
            (self.publish_heartbeat, self.mqtt.heartbeat_interval, "hub-heartbeat"),
            (self.check_agents, LIVENESS_CHECK_S, "agent-liveness"),
        ]
        if self.mqtt.daily_summary_at:
            self.agent.extra_jobs.append((self.send_daily_summary, SUMMARY_CHECK_S,
                                          "daily-summary"))

    async def run_forever(self, stop: asyncio.Event) -> int:
        self.loop = asyncio.get_running_loop()
        connect_in_background(self.client, self.mqtt)
        agent_stop = asyncio.Event()
        agent_task = asyncio.create_task(self.agent.run_forever(agent_stop), name="hub-agent")

        await stop.wait()
        # Stop taking messages before the spool closes; unacknowledged ones
        # stay with the broker for the next start.
        self._publish_status("offline", "stopped")
        self.client.disconnect()
        await asyncio.to_thread(self.client.loop_stop)
        agent_stop.set()
        return await agent_task

    def publish_heartbeat(self) -> None:
        payload = json.dumps({"agent": topics.HUB, "time_ns": now_ns()})
        self.client.publish(topics.heartbeat_topic(self.config.site, topics.HUB), payload, qos=0)

    def check_agents(self) -> None:
        self._send_alerts(self.liveness.check(time.monotonic()))

    def send_daily_summary(self, now: datetime | None = None) -> bool:
        """Send the "still watching" summary once a day at `daily_summary_at` (Beijing time)."""
        local = (now or datetime.now(SHANGHAI)).astimezone(SHANGHAI)
        today = local.date().isoformat()
        if local.strftime("%H:%M") < (self.mqtt.daily_summary_at or "") or \
                _read_text(self.summary_state) == today:
            return False

        online = sorted(name for name, state in self.liveness.agents.items() if state.online)
        offline = sorted(name for name, state in self.liveness.agents.items() if not state.online)
        status = self.spool.status()
        text = (f"监控中心仍在值守。在线采集代理 {len(online)} 个：{'、'.join(online) or '无'}；"
                f"离线 {len(offline)} 个：{'、'.join(offline) or '无'}。"
                f"缓存待写入 {status.rows} 条，累计丢弃 {status.dropped} 条，隔离 {status.quarantined} 条。")
        message = OutgoingMessage(
            key=f"still-watching:{self.config.site}:{today}", kind="operator", severity="info",
            title="监控值守日报", text=text,
            recipients=[Recipient(channel) for channel in self.mqtt.page_channels],
            context={"rule": "still_watching", "target": topics.HUB},
        )
        self.agent.message_sink.enqueue(message)
        self.summary_state.write_text(today, encoding="utf-8")
        return True

    # paho's network thread runs the callbacks below.

    def _on_connect(self, client: paho.Client, userdata: object, flags: object,
                    reason_code: paho.ReasonCode, properties: object) -> None:
        if reason_code.is_failure:
            log.error("MQTT broker %s rejected the hub's connection: %s", self.broker,
                      describe_reason(reason_code))
            return
        client.subscribe(topics.site_subscription(self.config.site), qos=1)
        self._publish_status("online", "")
        log.info("hub connected to MQTT broker %s (session present: %s)", self.broker,
                 getattr(flags, "session_present", "?"))

    def _on_disconnect(self, client: paho.Client, userdata: object, flags: object,
                       reason_code: paho.ReasonCode, properties: object) -> None:
        log.warning("hub disconnected from MQTT broker %s: %s", self.broker,
                    describe_reason(reason_code))

    def _on_message(self, client: paho.Client, userdata: object,
                    message: paho.MQTTMessage) -> None:
        parsed = topics.split_topic(message.topic)
        if parsed is None or parsed[0] != self.config.site or parsed[1] == topics.HUB:
            client.ack(message.mid, message.qos)
            return
        _, agent, leaf = parsed

        if leaf in (topics.STATUS, topics.HEARTBEAT):
            self._call_in_loop(self._liveness_message, agent, leaf, message.payload)
        else:
            try:
                readings = self._commit(agent, message.payload)
            except Exception:  # noqa: BLE001 - leave it unacknowledged for redelivery
                log.exception("could not spool a message from agent %s on %s; the broker will "
                              "redeliver it after the next reconnect", agent, message.topic)
                return
            self._call_in_loop(self._observe, agent, readings)
        client.ack(message.mid, message.qos)

    def _commit(self, agent: str, payload: bytes) -> list[Reading]:
        """Decode a payload and commit its lines to the spool; bad lines go to quarantine."""
        readings = []
        good = []
        for line in payload.decode("utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                readings.append(decode_line(line))
            except ValueError as err:
                self.spool.quarantine(None, line, f"来自采集代理 {agent} 的行无法解析：{err}")
                log.warning("agent %s sent a malformed line, quarantined: %s", agent, line[:300])
                continue
            good.append(line)
        dropped = self.spool.append(good)
        if dropped:
            self._call_in_loop(self.agent.spool_alerts.dropped, dropped)
        self.received += len(good)
        return readings

    def _call_in_loop(self, function, *args) -> None:  # noqa: ANN001 - any callable
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(function, *args)

    def _publish_status(self, state: str, reason: str) -> None:
        payload = json.dumps({"state": state, "agent": topics.HUB, "reason": reason})
        self.client.publish(topics.status_topic(self.config.site, topics.HUB), payload, qos=1,
                            retain=True)

    # The event loop runs the methods below.

    def _liveness_message(self, agent: str, leaf: str, payload: bytes) -> None:
        now = time.monotonic()
        if leaf == topics.HEARTBEAT:
            self._send_alerts(self.liveness.heartbeat(agent, now))
            return
        try:
            status = json.loads(payload) if payload else {}
        except ValueError:
            log.warning("agent %s sent an unreadable status: %r", agent, payload[:200])
            return
        if isinstance(status, dict):
            self._send_alerts(self.liveness.status(agent, status, now))

    def _observe(self, agent: str, readings: list[Reading]) -> None:
        for reading in readings:
            if reading.measurement == "target" and reading.tags.get("target"):
                self.liveness.target_seen(agent, reading.tags["target"])
        self.agent.latest.observe(readings)
        if self.agent.engine is not None:
            self.agent.engine.observe(readings)
        if self.agent.crosscheck is not None:
            self.agent.crosscheck.observe(readings)

    def _send_alerts(self, messages: list[AlertMessage]) -> None:
        for message in messages:
            self.agent.alert_log.send(message)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""
