"""Configuration validation: every problem reported in Chinese with key path and line."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hotline_monitor.agent.cli import main
from hotline_monitor.config import load_config
from hotline_monitor.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.problems


MINIMAL = """\
site: xuzhou-12345
influxdb:
  url: http://127.0.0.1:8086
  api: v1
  database: hotline
ups:
  - id: ups-main
    name: 主机房 100kVA UPS
    snmp: {host: 127.0.0.1, port: 161, community: public}
    interval: 5s
"""


def test_minimal_design_form_is_valid(tmp_path):
    config = load_config(write(tmp_path, MINIMAL))

    assert config.site == "xuzhou-12345"
    assert config.ups[0].interval == 5.0
    assert config.ups[0].snmp.port == 161
    assert config.state_dir == tmp_path / "state"
    assert config.influxdb.database == "hotline"


def test_unknown_key_names_path_and_line(tmp_path):
    path = write(tmp_path, MINIMAL + "    colour: red\n")

    assert problems_of(path) == ["site.yaml:11: ups[0].colour: 未知的配置项（请检查拼写，或删除该项）"]


def test_wrong_type_names_value(tmp_path):
    path = write(tmp_path, MINIMAL.replace("port: 161", "port: abc"))

    assert problems_of(path) == ["site.yaml:9: ups[0].snmp.port: 应为整数，当前为 'abc'"]


def test_port_out_of_range(tmp_path):
    path = write(tmp_path, MINIMAL.replace("port: 161", "port: 70000"))

    assert problems_of(path) == ["site.yaml:9: ups[0].snmp.port: 取值超出范围：不能大于 65535，当前为 70000"]


def test_missing_secret_reference(tmp_path, monkeypatch):
    monkeypatch.delenv("HM_TEST_COMMUNITY", raising=False)
    path = write(tmp_path, MINIMAL.replace("community: public", 'community: "${env:HM_TEST_COMMUNITY}"'))

    assert problems_of(path) == [
        "site.yaml:9: ups[0].snmp.community: 环境变量 HM_TEST_COMMUNITY 未设置（在 ${env:HM_TEST_COMMUNITY} 中引用）"
    ]


def test_secret_reference_resolved_from_env_and_file(tmp_path, monkeypatch):
    monkeypatch.setenv("HM_TEST_COMMUNITY", "s3cret")
    (tmp_path / "influx.pw").write_text("pw-from-file\n")
    text = MINIMAL.replace("community: public", 'community: "${env:HM_TEST_COMMUNITY}"')
    text = text.replace("  database: hotline\n", "  database: hotline\n  username: writer\n  password_file: influx.pw\n")

    config = load_config(write(tmp_path, text))

    assert config.ups[0].snmp.community == "s3cret"
    assert config.influxdb.password == "pw-from-file"


def test_unquoted_reference_in_flow_mapping_gets_hint(tmp_path):
    path = write(tmp_path, MINIMAL.replace("community: public", "community: ${env:X}"))

    problems = problems_of(path)

    assert len(problems) == 1
    assert problems[0].startswith("site.yaml:9: YAML 语法错误")
    assert "加引号" in problems[0]


def test_missing_secret_file(tmp_path):
    text = MINIMAL.replace("  database: hotline\n", "  database: hotline\n  password_file: nowhere.pw\n")

    problems = problems_of(write(tmp_path, text))

    assert problems == [f"site.yaml:6: influxdb.password_file: 密钥文件不存在：{tmp_path / 'nowhere.pw'}"]


def test_duplicate_ups_id(tmp_path):
    path = write(tmp_path, MINIMAL + "  - id: ups-main\n    snmp: {host: 127.0.0.2}\n")

    assert problems_of(path) == ["site.yaml:11: ups[1].id: id 'ups-main' 重复，与 ups[0] 相同"]


def test_interval_under_one_second(tmp_path):
    path = write(tmp_path, MINIMAL.replace("interval: 5s", "interval: 500ms"))

    assert problems_of(path) == ["site.yaml:10: ups[0].interval: 间隔不能小于 1 秒，当前为 0.5 秒"]


def test_every_problem_listed_in_line_order(tmp_path):
    text = MINIMAL.replace("port: 161", "port: 0").replace("interval: 5s", "interval: soon")
    text = text.replace("  database: hotline\n", "")

    problems = problems_of(write(tmp_path, text))

    assert len(problems) == 3
    assert problems[0].startswith("site.yaml:2: influxdb: api 为 v1 时必须填写 database")
    assert problems[1].startswith("site.yaml:8: ups[0].snmp.port: 取值超出范围：不能小于 1")
    assert problems[2].startswith("site.yaml:9: ups[0].interval: 时长格式无效：'soon'")


def test_secret_values_are_masked_in_messages(tmp_path):
    text = MINIMAL.replace("community: public", "community: [not, a, string]")

    problems = problems_of(write(tmp_path, text))

    assert problems == ["site.yaml:9: ups[0].snmp.community: 应为字符串，当前为 （已隐藏）"]


def test_snmp_v3_needs_user(tmp_path):
    path = write(tmp_path, MINIMAL.replace("community: public", "version: 3"))

    assert problems_of(path) == ["site.yaml:9: ups[0].snmp: SNMP v3 必须填写 user"]


def test_yaml_syntax_error_has_line(tmp_path):
    path = write(tmp_path, "site: x\nups:\n  - id: [unclosed\n")

    problems = problems_of(path)

    assert len(problems) == 1
    assert problems[0].startswith("site.yaml:4: YAML 语法错误")


def test_check_config_exit_codes(tmp_path):
    good = write(tmp_path, MINIMAL)
    bad = tmp_path / "bad.yaml"
    bad.write_text(MINIMAL.replace("port: 161", "port: 70000"), encoding="utf-8")
    command = [sys.executable, "-m", "hotline_monitor", "check-config", "-c"]

    ok = subprocess.run([*command, str(good)], capture_output=True, text=True, timeout=60)
    failed = subprocess.run([*command, str(bad)], capture_output=True, text=True, timeout=60)
    missing = subprocess.run([*command, str(tmp_path / "none.yaml")], capture_output=True, text=True, timeout=60)

    assert ok.returncode == 0
    assert "配置有效" in ok.stdout
    assert failed.returncode == 2
    assert "bad.yaml:9: ups[0].snmp.port: 取值超出范围" in failed.stderr
    assert missing.returncode == 2
    assert "配置文件不存在" in missing.stderr


def test_cli_usage_error_is_chinese_exit_2():
    result = subprocess.run([sys.executable, "-m", "hotline_monitor", "run"], capture_output=True,
                            text=True, timeout=60)

    assert result.returncode == 2
    assert "缺少必需的参数：-c/--config" in result.stderr



def test_impossible_date_reported_with_line(tmp_path):
    path = write(tmp_path, MINIMAL.replace("    interval: 5s\n", "    interval: 5s\n    battery_replace_due: 2027-13-40\n"))

    problems = problems_of(path)

    assert len(problems) == 1
    assert problems[0].startswith("site.yaml:11: ups[0].battery_replace_due: ")


def test_valid_unquoted_date_is_accepted(tmp_path):
    path = write(tmp_path, MINIMAL.replace("    interval: 5s\n", "    interval: 5s\n    battery_replace_due: 2027-05-01\n"))

    config = load_config(path)

    assert str(config.ups[0].battery_replace_due) == "2027-05-01"

def test_duplicate_key_is_reported(tmp_path):
    path = write(tmp_path, "site: x\nups:\n  - id: a\n    snmp: {host: 127.0.0.1}\n"
                           "    snmp: {host: 127.0.0.2}\n")

    problems = problems_of(path)

    assert problems == ["site.yaml:5: ups[0].snmp: 与第 4 行的同名配置项重复，YAML 只保留后一个；请删除或合并其中一个"]


def test_yaml_tab_and_indent_errors_are_chinese(tmp_path):
    tab = write(tmp_path, "site: x\nups:\n\t- id: a\n")
    assert problems_of(tab)[0].startswith("site.yaml:3: YAML 语法错误：含有 Tab 字符：YAML 只能用空格缩进")

    indent = write(tmp_path, "site: x\nups:\n  - id: a\n    snmp:\n      host: 127.0.0.1\n     port: 161\n")
    assert problems_of(indent)[0].startswith("site.yaml:6: YAML 语法错误：缩进不一致")


def test_choices_and_length_limits_are_chinese(tmp_path):
    path = write(tmp_path, """\
        site: x
        ups: []
        traps:
          listen: 127.0.0.1:10162
          v3_users:
            - user: u
              auth_protocol: SHA-256
              auth_key: short
        """)

    problems = problems_of(path)

    assert problems == [
        "site.yaml:7: traps.v3_users[0].auth_protocol: 取值无效：应为 'MD5'、'SHA'、'SHA224'、'SHA256'、"
        "'SHA384'、'SHA512' 之一，当前为 'SHA-256'",
        "site.yaml:8: traps.v3_users[0].auth_key: 至少 8 个字符，当前为 （已隐藏）",
    ]


def test_check_config_summary_names_destination(tmp_path, capsys):
    agent = write(tmp_path, "site: x\nrole: agent\nups: []\nmqtt: {host: 127.0.0.1, port: 18830}\n")

    code = main(["check-config", "-c", str(agent)])

    out = capsys.readouterr().out
    assert code == 0
    assert "角色 agent" in out
    assert "数据经 MQTT 代理 127.0.0.1:18830 发给监控中心（hub）" in out
    assert "本地存储" not in out
    assert "注意：没有配置任何 UPS" in out


def test_channel_type_typo_hides_key(tmp_path, monkeypatch):
    monkeypatch.setenv("ROBOT_KEY", "robot-key-never-shown")
    path = write(tmp_path, """\
        site: x
        ups: []
        channels:
          ops:
            type: wecom-robot
            key: ${env:ROBOT_KEY}
          mail:
            host: 127.0.0.1
        """)

    problems = problems_of(path)

    assert len(problems) == 2
    assert problems[0].startswith("site.yaml:4: channels.ops: type 取值无效：应为 'wecom_robot'、")
    assert problems[0].endswith("之一，当前为 'wecom-robot'")
    assert problems[1] == "site.yaml:7: channels.mail: 缺少 type（类型）"
    assert all("robot-key-never-shown" not in problem for problem in problems)
    assert all("Input tag" not in problem for problem in problems)

