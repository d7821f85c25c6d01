"""Register maps: validation messages, request planning, shipped maps and check-config."""

from __future__ import annotations

import asyncio
import textwrap

import pytest
from modbus_server import build_device, tcp_server

from hotline_monitor.agent.cli import main
from hotline_monitor.collectors.ups_modbus.collector import ModbusUpsCollector
from hotline_monitor.collectors.ups_modbus.plan import plan_requests
from hotline_monitor.collectors.ups_modbus.regmap import load_map, parse_map, shipped_maps
from hotline_monitor.config.model import UpsConfig
from hotline_monitor.errors import ConfigError

HEADER = """\
name: bad
title: 有错误的表
source: 测试
models: [test]
address_base: {base}
values:
"""


def problems_of(values: str, base: int = 0) -> list[str]:
    text = HEADER.format(base=base) + textwrap.indent(textwrap.dedent(values), "  ")
    with pytest.raises(ConfigError) as caught:
        parse_map(text, "bad.yaml")
    return caught.value.problems


def test_map_overlap_rejected():
    problems = problems_of("""\
        - {field: runtime_s, table: holding, address: 3, type: uint32}
        - {field: charge_pct, table: holding, address: 4, type: uint16}
        """)
    assert problems == [
        "bad.yaml:8: values[1].address: 与 values[0] 重叠：保持寄存器 3–4 与 4–4 共用地址"
    ]


def test_map_same_address_other_table_allowed():
    text = HEADER.format(base=0) + textwrap.indent(textwrap.dedent("""\
        - {field: runtime_s, table: holding, address: 3, type: uint32}
        - {field: charge_pct, table: input, address: 4, type: uint16}
        - {field: on_battery, table: holding, address: 5, type: bit, bit: 0}
        - {field: on_bypass, table: holding, address: 5, type: bit, bit: 1}
        """), "  ")
    assert len(parse_map(text, "ok.yaml").values) == 4


def test_map_unknown_type_rejected():
    problems = problems_of("- {field: charge_pct, table: holding, address: 0, type: uint8}\n")
    assert len(problems) == 1
    assert problems[0].startswith("bad.yaml:7: values[0].type: 未知的数据类型 'uint8'")
    assert "int16、uint16、int32、uint32、float32、float64、string、bit" in problems[0]


def test_map_address_out_of_range_rejected():
    problems = problems_of("- {field: runtime_s, table: holding, address: 65535, type: uint32}\n")
    assert problems == [
        "bad.yaml:7: values[0].address: 地址超出范围：65535–65536，本表地址从 0 起"
        "（address_base: 0），允许 0–65535"
    ]


def test_map_one_based_address_zero_rejected():
    problems = problems_of("- {field: charge_pct, table: holding, address: 0, type: uint16}\n",
                           base=1)
    assert problems == [
        "bad.yaml:7: values[0].address: 地址超出范围：0–0，本表地址从 1 起"
        "（address_base: 1），允许 1–65536"
    ]


def test_map_unknown_target_rejected():
    problems = problems_of("- {field: battery_voltage, table: holding, address: 0, type: uint16}\n")
    assert len(problems) == 1
    assert problems[0].startswith("bad.yaml:7: values[0].field: 未知的目标字段 'battery_voltage'")
    assert "battery_voltage_v" in problems[0]


def test_map_line_target_checked():
    problems = problems_of(
        "- {field: output.4.voltage_v, table: holding, address: 0, type: uint16}\n")
    assert "未知的目标字段 'output.4.voltage_v'" in problems[0]


def test_map_duplicate_target_rejected():
    problems = problems_of("""\
        - {field: charge_pct, table: holding, address: 0, type: uint16}
        - {field: charge_pct, table: input, address: 0, type: uint16}
        """)
    assert problems == [
        "bad.yaml:8: values[1].field: 目标字段 charge_pct 重复：values[0] 已写入该字段"]


def test_map_unit_mismatch_rejected():
    problems = problems_of(
        "- {field: battery_voltage_v, table: holding, address: 0, type: uint16, unit: A}\n")
    assert problems == [
        "bad.yaml:7: values[0].unit: 单位 'A' 与目标字段 battery_voltage_v 不符，应为 'V'"]


def test_map_bit_table_needs_bit_type():
    problems = problems_of(
        "- {field: on_battery, table: discrete_inputs, address: 0, type: uint16}\n")
    assert problems == ["bad.yaml:7: values[0]: 离散输入只能是 type: bit，当前为 uint16"]


def test_map_string_needs_length():
    problems = problems_of("- {field: info.model, table: holding, address: 0, type: string}\n")
    assert problems == ["bad.yaml:7: values[0]: type: string 必须填写 length（占用的寄存器个数）"]


def test_map_every_problem_listed_in_line_order():
    problems = problems_of("""\
        - {field: charge_pct, table: holding, address: 0, type: uint16}
        - {field: nonsense, table: holding, address: 0, type: uint16}
        - {field: runtime_s, table: holding, address: 1, type: int24}
        """)
    assert [problem.split(":")[1] for problem in problems] == ["8", "8", "9"]


def test_map_yaml_syntax_error_has_line():
    with pytest.raises(ConfigError, match=r"^bad.yaml:2: YAML 语法错误"):
        parse_map("name: x\n  title: y: z\n", "bad.yaml")


@pytest.mark.parametrize("name", shipped_maps())
def test_shipped_map_valid(name):
    loaded = load_map(name)
    assert loaded.regmap.source
    assert loaded.regmap.models


def test_shipped_maps_present():
    assert {"generic", "simulator", "huawei-ups2000", "apc-smart-ups"} <= set(shipped_maps())


# --- request planning --------------------------------------------------------------------

def synthetic_map(count: int, gap_every: int = 0, gap: int = 0, max_gap: int = 8) -> str:
    fields = ["input", "output", "bypass"]
    values = []
    address = 0
    names = [f"{side}.{line}.{field}" for side in fields for line in (1, 2, 3)
             for field in ("voltage_v", "current_a", "power_w", "load_pct")]
    for index in range(count):
        values.append(f"  - {{field: {names[index]}, table: holding, address: {address}, "
                      "type: uint16}")
        address += 1
        if gap_every and (index + 1) % gap_every == 0:
            address += gap
    header = HEADER.format(base=0).replace(
        "values:\n", f"requests: {{max_gap: {max_gap}}}\nvalues:\n")
    return header + "\n".join(values) + "\n"


def test_plan_merges_adjacent_registers():
    regmap = parse_map(synthetic_map(36), "plan.yaml")
    assert [(r.start, r.count) for r in plan_requests(regmap)] == [(0, 36)]


def test_plan_bridges_small_gaps_only():
    # 36 values in groups of 12, each group followed by 10 unused registers:
    # 10 > max_gap 8, so three requests of 12.
    regmap = parse_map(synthetic_map(36, gap_every=12, gap=10), "plan.yaml")
    assert [(r.start, r.count) for r in plan_requests(regmap)] == [(0, 12), (22, 12), (44, 12)]

    bridged = parse_map(synthetic_map(36, gap_every=12, gap=10, max_gap=10), "plan.yaml")
    assert [(r.start, r.count) for r in plan_requests(bridged)] == [(0, 56)]


def test_plan_respects_125_register_limit():
    # Groups of 12 at 0..11, 62..73 and 124..135 (gaps of 50, bridged with max_gap 50):
    # one request may span 0..124 (125 registers), so 125..135 needs a second one.
    regmap = parse_map(synthetic_map(36, gap_every=12, gap=50, max_gap=50), "plan.yaml")
    requests = plan_requests(regmap)
    assert [(r.start, r.count) for r in requests] == [(0, 125), (125, 11)]
    assert all(r.count <= 125 for r in requests)


def test_plan_respects_device_limit():
    text = synthetic_map(36).replace("{max_gap: 8}", "{max_gap: 8, max_registers: 16}")
    regmap = parse_map(text, "plan.yaml")
    assert [(r.start, r.count) for r in plan_requests(regmap)] == [(0, 16), (16, 16), (32, 4)]


# --- vendor maps against a server filled as their documents describe --------------------

def poll_once(device, map_name):
    async def scenario():
        async with tcp_server(device) as port:
            ups = UpsConfig.model_validate(
                {"id": "ups-1", "modbus": {"host": "127.0.0.1", "port": port, "map": map_name}})
            collector = ModbusUpsCollector(ups, site="s")
            try:
                return await collector.poll()
            finally:
                await collector.close()

    return asyncio.run(scenario())


def test_huawei_map_decodes_documented_registers():
    block_1 = [0] * 25
    block_1[0] = 2305          # 11000 input voltage 230.5 V (/10)
    block_1[3] = 500           # 11003 input frequency 50.0 Hz
    block_1[4] = 0x7FFF        # 11004 bypass voltage: invalid fixed-point value
    block_1[7] = 500
    block_1[8] = 2200          # 11008 output voltage 220.0 V
    block_1[11] = 45           # 11011 output current 4.5 A
    block_1[14] = 500
    block_1[15] = 9            # 11015 real power: 10 = 1 kW, so 9 = 900 W
    block_1[21] = 456          # 11021 load 45.6 %
    block_1[24] = 3            # 11024 mode 3: on battery -> RFC 1628 battery (5)
    block_2 = [0] * 6
    block_2[0] = 1284          # 12000 battery 128.4 V
    block_2[3] = 97            # 12003 charge 97 %
    block_2[4:6] = [0x0000, 0x0E10]   # 12004-12005 runtime 3600 s
    device = build_device(holding={11000: block_1, 11043: [0x0040], 12000: block_2})

    result = poll_once(device, "huawei-ups2000")
    (ups,) = [r for r in result.readings if r.measurement == "ups"]
    assert ups.fields["output_source"] == 5.0
    assert ups.fields["on_battery"] == 1.0
    assert ups.fields["battery_status"] == 3.0        # bit 6 of 1043: battery low
    assert ups.fields["runtime_s"] == 3600.0
    assert ups.fields["battery_voltage_v"] == pytest.approx(128.4)
    assert ups.fields["load_pct_max"] == pytest.approx(45.6)
    lines = {(r.tags["side"], r.tags["line"]): r.fields for r in result.readings
             if r.measurement == "ups_line"}
    assert lines[("output", "1")]["power_w"] == 900.0
    assert lines[("input", "1")]["voltage_v"] == pytest.approx(230.5)
    assert ("bypass", "1") not in lines
    assert result.invalid_values == 1


def test_apc_map_decodes_binary_point_scales():
    status = [0] * 19
    status[0:2] = [0x0000, 0x0002]    # UPSStatus_BF bit 1: online
    runtime_block = [0] * 24
    runtime_block[0:2] = [0x0000, 0x0960]    # 128-129 runtime 2400 s
    runtime_block[2] = 100 * 512             # 130 charge 100 % x 2^9
    runtime_block[3] = 27 * 32 + 16          # 131 battery 27.5 V x 2^5 = 896
    runtime_block[7] = 25 * 128 + 64         # 135 battery 25.5 °C x 2^7
    runtime_block[8] = 32 * 256              # 136 load 32 % x 2^8
    runtime_block[12] = 3 * 32 + 8           # 140 output current 3.25 A x 2^5
    runtime_block[14] = 230 * 64             # 142 output voltage 230 V x 2^6
    runtime_block[16] = 50 * 128             # 144 output frequency 50 Hz x 2^7
    runtime_block[23] = 0xFFFF               # 151 input voltage: not applicable
    inventory = [0] * 32
    inventory[0:8] = [0x5543, 0x4D30, 0x392E, 0x3620] + [0x2020] * 4     # "UCM09.6"
    inventory[16:32] = [0x536D, 0x6172, 0x742D, 0x5550, 0x5320, 0x3135, 0x3030] + [0] * 9
    device = build_device(holding={0: status, 128: runtime_block, 516: inventory})

    result = poll_once(device, "apc-smart-ups")
    (ups,) = [r for r in result.readings if r.measurement == "ups"]
    assert ups.fields["output_source"] == 3.0
    assert ups.fields["on_battery"] == 0.0
    assert ups.fields["battery_status"] == 2.0        # ShutdownImminent clear
    assert ups.fields["runtime_s"] == 2400.0
    assert ups.fields["charge_pct"] == 100.0
    assert ups.fields["battery_voltage_v"] == 27.5
    assert ups.fields["battery_temperature_c"] == 25.5
    assert ups.fields["output_frequency_hz"] == 50.0
    (output,) = [r for r in result.readings if r.measurement == "ups_line"
                 and r.tags["side"] == "output"]
    assert output.fields == {"voltage_v": 230.0, "current_a": 3.25, "load_pct": 32.0}
    (info,) = [r for r in result.readings if r.measurement == "ups_info"]
    assert info.fields == {"firmware": "UCM09.6", "model": "Smart-UPS 1500"}


# --- configuration -----------------------------------------------------------------------

def test_check_config_bad_map_exits_2(tmp_path, capsys):
    (tmp_path / "bad-map.yaml").write_text(HEADER.format(base=0) + (
        "  - {field: runtime_s, table: holding, address: 3, type: uint32}\n"
        "  - {field: charge_pct, table: holding, address: 4, type: float16}\n"
    ), encoding="utf-8")
    config = tmp_path / "site.yaml"
    config.write_text(textwrap.dedent("""\
        site: test-site
        ups:
          - id: ups-main
            modbus: {host: 127.0.0.1, port: 1502, map: bad-map.yaml}
        """), encoding="utf-8")

    assert main(["check-config", "-c", str(config)]) == 2
    output = capsys.readouterr()
    text = output.out + output.err
    assert "site.yaml:4: ups[0].modbus.map: 寄存器表有误" in text
    assert "bad-map.yaml:8: values[1].type: 未知的数据类型 'float16'" in text


def test_check_config_missing_map_exits_2(tmp_path, capsys):
    config = tmp_path / "site.yaml"
    config.write_text(textwrap.dedent("""\
        site: test-site
        ups:
          - id: ups-main
            modbus: {transport: rtu, device: /dev/ttyUSB0, map: no-such-map}
        """), encoding="utf-8")

    assert main(["check-config", "-c", str(config)]) == 2
    text = "".join(capsys.readouterr())
    assert "site.yaml:4: ups[0].modbus.map: 寄存器表有误" in text
    assert "寄存器表 'no-such-map' 不存在：内置的有 apc-smart-ups, generic, huawei-ups2000" in text


def test_check_config_good_modbus_config(tmp_path, capsys):
    config = tmp_path / "site.yaml"
    config.write_text(textwrap.dedent("""\
        site: test-site
        ups:
          - id: ups-main
            modbus: {transport: rtu_over_tcp, host: 127.0.0.1, port: 4001, unit_id: 2,
                     map: huawei-ups2000, pause: 100ms, timeout: 3s}
        """), encoding="utf-8")
    assert main(["check-config", "-c", str(config)]) == 0


def test_check_config_bad_parity_exits_2(tmp_path, capsys):
    config = tmp_path / "site.yaml"
    config.write_text(textwrap.dedent("""\
        site: test-site
        ups:
          - id: ups-main
            modbus: {transport: rtu, map: simulator, parity: x}
        """), encoding="utf-8")

    assert main(["check-config", "-c", str(config)]) == 2
    text = "".join(capsys.readouterr())
    assert "site.yaml:4: ups[0].modbus.parity: 取值无效" in text


def test_check_config_rtu_broadcast_unit_exits_2(tmp_path, capsys):
    config = tmp_path / "site.yaml"
    config.write_text(textwrap.dedent("""\
        site: test-site
        ups:
          - id: ups-main
            modbus: {transport: rtu, device: /dev/ttyUSB0, unit_id: 0, map: simulator}
        """), encoding="utf-8")

    assert main(["check-config", "-c", str(config)]) == 2
    text = "".join(capsys.readouterr())
    assert "site.yaml:4: ups[0].modbus: RTU 的 unit_id 应在 1 到 247 之间，当前为 0" in text
