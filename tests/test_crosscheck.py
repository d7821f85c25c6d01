"""SNMP/Modbus cross-check: a disagreement lasting three polls raises 数据不一致."""

from __future__ import annotations

import asyncio
import json

from modbus_server import build_device, tcp_server

from hotline_monitor.agent.runner import Agent
from hotline_monitor.alerting.crosscheck import CrossCheck
from hotline_monitor.collectors.ups_modbus.collector import ModbusUpsCollector
from hotline_monitor.config.model import Config
from hotline_monitor.reading import Reading

SECOND = 1_000_000_000


def config_for(tmp_path, port: int = 1502) -> Config:
    return Config.model_validate({
        "site": "test-site",
        "state_dir": str(tmp_path / "state"),
        "ups": [{
            "id": "ups-main",
            "name": "主机房 UPS",
            "interval": "5s",
            "snmp": {"host": "127.0.0.1", "port": 1161},
            "modbus": {"host": "127.0.0.1", "port": port, "map": "simulator"},
        }],
    })


def ups_reading(source: str, time_s: float, **fields: float) -> Reading:
    return Reading("ups", {"site": "test-site", "ups": "ups-main", "source": source},
                   dict(fields), int(time_s * SECOND))


def test_crosscheck_warns_after_three_polls(tmp_path):
    sent = []
    check = CrossCheck(config_for(tmp_path), sent.append)

    for poll in range(3):
        check.observe([ups_reading("snmp", poll * 5, output_source=3.0, charge_pct=90.0)])
        check.observe([ups_reading("modbus", poll * 5 + 1, output_source=5.0, charge_pct=91.0)])
    assert len(sent) == 1
    assert sent[0].rule == "ups_data_mismatch.output_source"
    assert sent[0].severity == "warning"
    assert sent[0].state == "firing"
    assert sent[0].text == (
        "主机房 UPS：数据不一致：输出来源 SNMP 为 市电（逆变）（3），Modbus 为 电池（5），"
        "已连续 3 次轮询不一致；请核对寄存器表与 SNMP 卡"
    )

    check.observe([ups_reading("modbus", 16, output_source=5.0)])
    assert len(sent) == 1, "a lasting disagreement is reported once"

    check.observe([ups_reading("snmp", 20, output_source=3.0)])
    check.observe([ups_reading("modbus", 21, output_source=3.0)])
    assert [message.state for message in sent] == ["firing", "resolved"]
    assert "输出来源数据恢复一致" in sent[1].text
    assert sent[1].duration_s == 20.0     # from the first disagreeing poll (1 s) to 21 s


def test_crosscheck_two_polls_not_enough(tmp_path):
    sent = []
    check = CrossCheck(config_for(tmp_path), sent.append)
    for poll in range(2):
        check.observe([ups_reading("snmp", poll * 5, on_battery=0.0)])
        check.observe([ups_reading("modbus", poll * 5 + 1, on_battery=1.0)])
    check.observe([ups_reading("snmp", 10, on_battery=1.0)])
    check.observe([ups_reading("modbus", 11, on_battery=1.0)])
    assert sent == []


def test_crosscheck_tolerances(tmp_path):
    sent = []
    check = CrossCheck(config_for(tmp_path), sent.append)
    for poll in range(3):
        # charge 5 points apart and runtime 10 % apart are within tolerance
        check.observe([ups_reading("snmp", poll * 5, charge_pct=80.0, runtime_s=3000.0)])
        check.observe([ups_reading("modbus", poll * 5 + 1, charge_pct=85.0, runtime_s=2700.0)])
    assert sent == []

    for poll in range(3, 6):
        check.observe([ups_reading("snmp", poll * 5, runtime_s=3000.0)])
        check.observe([ups_reading("modbus", poll * 5 + 1, runtime_s=1800.0)])
    (message,) = sent
    assert "后备时间 SNMP 为 50分，Modbus 为 30分" in message.text


def test_crosscheck_ignores_stale_snmp_and_unknowns(tmp_path):
    sent = []
    check = CrossCheck(config_for(tmp_path), sent.append)
    check.observe([ups_reading("snmp", 0, charge_pct=20.0)])
    for poll in range(4):
        # 5 s interval: an SNMP reading older than 15 s is not compared
        check.observe([ups_reading("modbus", 100 + poll * 5, charge_pct=90.0)])
    for poll in range(4):
        check.observe([ups_reading("snmp", 200 + poll * 5, output_source=3.0)])
        check.observe([ups_reading("modbus", 201 + poll * 5, charge_pct=90.0)])
    assert sent == []


def test_agent_raises_mismatch_from_real_modbus_polls(tmp_path):
    registers = [0xFFFF] * 46
    registers[0] = 5        # Modbus reports: on battery
    registers[2] = 64       # charge 64 %
    device = build_device(holding={0: registers}, discrete={0: [True, False, False, False]})

    async def scenario():
        async with tcp_server(device) as port:
            config = config_for(tmp_path, port)
            collector = ModbusUpsCollector(config.ups[0], site=config.site)
            agent = Agent(config, collectors=[collector])
            try:
                for _ in range(3):
                    # what the SNMP path reports at the same time: on mains
                    agent.submit([Reading("ups", {"site": "test-site", "ups": "ups-main",
                                                  "source": "snmp"},
                                          {"output_source": 3.0, "on_battery": 0.0,
                                           "charge_pct": 64.0})])
                    await agent.poll_target(agent.pollers[0])
            finally:
                await agent.close()

    asyncio.run(scenario())
    events = [json.loads(line) for line in
              (tmp_path / "state" / "alerts.jsonl").read_text(encoding="utf-8").splitlines()]
    # Each message lists the alerts whose state it announces.
    rules = sorted(change["rule"] for event in events for change in event["context"]["alerts"]
                   if change["rule"].startswith("ups_data_mismatch"))
    assert rules == ["ups_data_mismatch.on_battery", "ups_data_mismatch.output_source"]
    assert all("数据不一致" in event["text"] for event in events
               if any(c["rule"].startswith("ups_data_mismatch") for c in event["context"]["alerts"]))
