"""Choose the sink from the configuration: InfluxDB v1, v2, or the local store."""

from __future__ import annotations

from hotline_monitor.agent.sinks.base import Sink
from hotline_monitor.config.model import Config


def build_sink(config: Config) -> Sink:
    if config.influxdb is None:
        from hotline_monitor.agent.sinks.local_store import LocalStore

        return LocalStore(config.state_dir / "local_store.sqlite", config.local_store.retention)
    if config.influxdb.api == "v2":
        from hotline_monitor.agent.sinks.influxdb_v2 import InfluxV2Sink

        return InfluxV2Sink(config.influxdb)
    from hotline_monitor.agent.sinks.influxdb_v1 import InfluxV1Sink

    return InfluxV1Sink(config.influxdb)
