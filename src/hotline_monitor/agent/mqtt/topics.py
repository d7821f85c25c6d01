"""Topic names: `hotline/<site>/<agent>/<measurement>` plus status and heartbeat leaves.

Status and heartbeat leaves start with "_", which InfluxDB reserves in
measurement names, so they never collide with a reading's topic. The hub
uses `_hub` as its agent part; agent ids must start with a letter or digit.
"""

from __future__ import annotations

STATUS = "_status"
HEARTBEAT = "_heartbeat"
HUB = "_hub"
_NOT_IN_TOPIC = str.maketrans({"/": "_", "+": "_", "#": "_"})


def reading_topic(site: str, agent: str, measurement: str) -> str:
    return f"hotline/{site}/{agent}/{measurement.translate(_NOT_IN_TOPIC)}"


def status_topic(site: str, agent: str) -> str:
    return f"hotline/{site}/{agent}/{STATUS}"


def heartbeat_topic(site: str, agent: str) -> str:
    return f"hotline/{site}/{agent}/{HEARTBEAT}"


def site_subscription(site: str) -> str:
    """Everything the agents of one site publish (and the hub's own leaves)."""
    return f"hotline/{site}/+/+"


def split_topic(topic: str) -> tuple[str, str, str] | None:
    """Return (site, agent, leaf) of a hotline topic, or None for any other topic."""
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != "hotline":
        return None
    return parts[1], parts[2], parts[3]
