"""Build the paho-mqtt 2.x client: persistent session, TLS, credentials, last will, backoff.

The client speaks MQTT 5. The session is persistent (clean_start=False, a
stable client id and a session expiry interval that never ends), so the
broker keeps QoS 1 messages for a hub that is away and redelivers
unacknowledged ones after a reconnect. MQTT 5 also lets a PUBACK say "no
matching subscribers" (reason code 0x10), which the agent uses to keep
readings until the hub has subscribed at least once. paho's network thread
(`loop_start`) reconnects by itself, waiting 1 s and doubling up to
`reconnect_max`.
"""

from __future__ import annotations

import logging
import ssl

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hotline_monitor.agent.mqtt.config import MqttConfig

log = logging.getLogger(__name__)

# MQTT 5 session expiry interval that means "never expires" (MQTT 5.0, 3.1.2.11.2).
SESSION_NEVER_EXPIRES = 0xFFFFFFFF
# paho sends at most this many QoS 1 messages before it waits for PUBACKs.
MAX_INFLIGHT = 100


def default_client_id(role: str, site: str, agent_id: str) -> str:
    return f"hotline-{role}-{site}-{agent_id}"


def build_client(config: MqttConfig, client_id: str, will: tuple[str, bytes] | None,
                 manual_ack: bool = False) -> paho.Client:
    """Return a configured, not yet connected client."""
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=paho.MQTTv5,
        manual_ack=manual_ack,
    )
    if config.username:
        client.username_pw_set(config.username, config.password)
    if config.tls is not None:
        client.tls_set(
            ca_certs=str(config.tls.ca_path) if config.tls.ca_path else None,
            certfile=str(config.tls.cert_path) if config.tls.cert_path else None,
            keyfile=str(config.tls.key_path) if config.tls.key_path else None,
            cert_reqs=ssl.CERT_REQUIRED,
        )
        client.tls_insecure_set(config.tls.insecure)
    if will is not None:
        topic, payload = will
        client.will_set(topic, payload, qos=1, retain=True)
    client.reconnect_delay_set(min_delay=1, max_delay=int(config.reconnect_max))
    client.max_inflight_messages_set(MAX_INFLIGHT)
    return client


def connect_in_background(client: paho.Client, config: MqttConfig) -> None:
    """Start paho's network thread; it connects and reconnects on its own."""
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = SESSION_NEVER_EXPIRES
    client.connect_async(config.host, config.port, keepalive=config.keepalive,
                         clean_start=False, properties=properties)
    client.loop_start()


def describe_reason(reason_code: object) -> str:
    return str(getattr(reason_code, "getName", lambda: reason_code)())
