"""The agent's MQTT side: a Sink that publishes spooled readings, plus status and hub watch.

`write` publishes a batch at QoS 1 and returns only when the broker has sent
a PUBACK for every message, so the sender deletes spool rows only after the
broker has them. While the broker is unreachable `write` raises
SinkUnavailable at once and the readings stay in the spool. Nothing is
queued inside paho, because paho would keep an outage's backlog in memory.
A PUBACK with reason code 0x10 (no matching subscribers) also raises
SinkUnavailable: no hub has subscribed yet, so the readings stay spooled
until one has.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as paho

from hotline_monitor.agent.mqtt import topics
from hotline_monitor.agent.mqtt.config import MqttConfig
from hotline_monitor.agent.mqtt.connection import (
    build_client,
    connect_in_background,
    default_client_id,
    describe_reason,
)
from hotline_monitor.errors import SinkUnavailable
from hotline_monitor.reading import now_ns

log = logging.getLogger(__name__)

_ACK_POLL_S = 0.005
_NO_MATCHING_SUBSCRIBERS = 0x10


def measurement_of(line: str) -> str:
    """Return the measurement name of a line-protocol line, unescaped."""
    end = 0
    while end < len(line) and (line[end] not in ", " or (end and line[end - 1] == "\\")):
        end += 1
    return line[:end].replace("\\ ", " ").replace("\\,", ",")


def group_messages(lines: list[str], max_lines: int) -> list[tuple[str, list[str]]]:
    """Group lines by measurement, in first-seen order, into messages of at most max_lines."""
    groups: dict[str, list[str]] = {}
    for line in lines:
        groups.setdefault(measurement_of(line), []).append(line)
    messages = []
    for measurement, group in groups.items():
        for start in range(0, len(group), max_lines):
            messages.append((measurement, group[start:start + max_lines]))
    return messages


class MqttPublisher:
    """Publishes the agent's readings, its retained status and heartbeat; hears the hub."""

    name = "mqtt"

    def __init__(self, config: MqttConfig, site: str, agent_id: str,
                 targets: Callable[[], list[str]] = list) -> None:
        self.config = config
        self.site = site
        self.agent_id = agent_id
        self.targets = targets
        self.broker = f"{config.host}:{config.port}"
        self._connected = threading.Event()
        self.last_hub_heartbeat: float | None = None
        """time.monotonic() of the last hub heartbeat heard."""
        offline = json.dumps({"state": "offline", "agent": agent_id, "reason": "lost"}).encode()
        self.client = build_client(
            config,
            config.client_id or default_client_id("agent", site, agent_id),
            will=(topics.status_topic(site, agent_id), offline),
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish
        self._puback_codes: dict[int, int] = {}
        self._puback_lock = threading.Lock()
        self._started = False
        self._rejection_logged = False

    def start(self) -> None:
        if not self._started:
            connect_in_background(self.client, self.config)
            self._started = True

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self, timeout: float) -> bool:
        self.start()
        deadline = time.monotonic() + timeout
        while not self.connected and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self.connected

    async def write(self, lines: list[str]) -> None:
        """Publish lines at QoS 1 and wait for every PUBACK."""
        if not self.connected:
            raise SinkUnavailable(f"MQTT 代理 {self.broker} 未连接")

        pending = []
        for measurement, group in group_messages(lines, self.config.max_lines_per_message):
            topic = topics.reading_topic(self.site, self.agent_id, measurement)
            info = self.client.publish(topic, "\n".join(group).encode("utf-8"), qos=1)
            if info.rc != paho.MQTT_ERR_SUCCESS:
                raise SinkUnavailable(
                    f"MQTT 代理 {self.broker} 发布失败：{paho.error_string(info.rc)}")
            pending.append(info)

        deadline = time.monotonic() + self.config.publish_timeout
        while not all(info.is_published() for info in pending):
            if time.monotonic() > deadline:
                unacked = sum(not info.is_published() for info in pending)
                raise SinkUnavailable(
                    f"MQTT 代理 {self.broker} 在 {self.config.publish_timeout:g} 秒内"
                    f"未确认 {unacked} 条消息")
            await asyncio.sleep(_ACK_POLL_S)

        with self._puback_lock:
            codes = [self._puback_codes.pop(info.mid, 0) for info in pending]
        if _NO_MATCHING_SUBSCRIBERS in codes:
            raise SinkUnavailable(
                f"MQTT 代理 {self.broker} 上还没有订阅者（hub 尚未启动过），读数保留在缓存中")

    def publish_heartbeat(self) -> None:
        if self.connected:
            payload = json.dumps({"agent": self.agent_id, "time_ns": now_ns()})
            self.client.publish(topics.heartbeat_topic(self.site, self.agent_id), payload, qos=0)

    def hub_silent_for(self, started: float, now: float) -> float:
        """Seconds since the hub was last heard (or since `started` if never)."""
        return now - (self.last_hub_heartbeat if self.last_hub_heartbeat is not None else started)

    async def close(self) -> None:
        if self._started and self.connected:
            payload = json.dumps({"state": "offline", "agent": self.agent_id, "reason": "stopped"})
            info = self.client.publish(topics.status_topic(self.site, self.agent_id), payload,
                                       qos=1, retain=True)
            deadline = time.monotonic() + 2.0
            while not info.is_published() and time.monotonic() < deadline:
                await asyncio.sleep(_ACK_POLL_S)
            self.client.disconnect()
        if self._started:
            await asyncio.to_thread(self.client.loop_stop)

    def _status_payload(self) -> bytes:
        return json.dumps({"state": "online", "agent": self.agent_id,
                           "targets": sorted(self.targets()), "time_ns": now_ns()},
                          ensure_ascii=False).encode("utf-8")

    def _on_connect(self, client: paho.Client, userdata: object, flags: object,
                    reason_code: paho.ReasonCode, properties: object) -> None:
        if reason_code.is_failure:
            # paho retries every few seconds; log the rejection once, then at DEBUG.
            level = logging.DEBUG if self._rejection_logged else logging.ERROR
            log.log(level, "MQTT broker %s rejected the connection of agent %s: %s; "
                    "check mqtt.username, mqtt.password and mqtt.client_id", self.broker,
                    self.agent_id, describe_reason(reason_code))
            self._rejection_logged = True
            return
        self._rejection_logged = False
        client.publish(topics.status_topic(self.site, self.agent_id), self._status_payload(),
                       qos=1, retain=True)
        client.subscribe(topics.heartbeat_topic(self.site, topics.HUB), qos=0)
        self._connected.set()
        log.info("connected to MQTT broker %s as agent %s", self.broker, self.agent_id)

    def _on_disconnect(self, client: paho.Client, userdata: object, flags: object,
                       reason_code: paho.ReasonCode, properties: object) -> None:
        if self._connected.is_set():
            log.warning("disconnected from MQTT broker %s (%s); readings stay in the spool",
                        self.broker, describe_reason(reason_code))
        self._connected.clear()

    def _on_publish(self, client: paho.Client, userdata: object, mid: int,
                    reason_code: paho.ReasonCode, properties: object) -> None:
        # paho calls this before it marks the message published, so the code
        # is recorded by the time write() sees is_published(). Only failures
        # are kept; mids are reused after 65535, which bounds the dict.
        if reason_code.value:
            with self._puback_lock:
                self._puback_codes[mid] = reason_code.value

    def _on_message(self, client: paho.Client, userdata: object,
                    message: paho.MQTTMessage) -> None:
        self.last_hub_heartbeat = time.monotonic()
