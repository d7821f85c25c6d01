"""Build the collectors a configuration asks for."""

from __future__ import annotations

from hotline_monitor.collectors.base import Collector
from hotline_monitor.config.model import Config


def build_collectors(config: Config) -> list[Collector]:
    collectors: list[Collector] = []
    for ups in config.ups:
        if ups.snmp is not None:
            from hotline_monitor.collectors.ups_snmp.collector import SnmpUpsCollector

            collectors.append(SnmpUpsCollector(ups, site=config.site))
        if ups.modbus is not None:
            from hotline_monitor.collectors.ups_modbus.collector import ModbusUpsCollector

            collectors.append(ModbusUpsCollector(ups, site=config.site))
    for host in config.hosts:
        from hotline_monitor.collectors.host.collector import HostCollector

        collectors.append(HostCollector(host, site=config.site))
    for check in config.checks:
        from hotline_monitor.collectors.checks.collector import CheckCollector

        collectors.append(CheckCollector(check, site=config.site))
    for trunk in config.sip_trunks:
        from hotline_monitor.collectors.sip_trunk.collector import SipTrunkCollector

        collectors.append(SipTrunkCollector(trunk, site=config.site))
    return collectors
