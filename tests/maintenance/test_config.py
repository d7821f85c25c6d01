"""The `maintenance` and `bureau` configuration sections."""

from __future__ import annotations

import pytest

from hotline_monitor.config import load_config
from hotline_monitor.errors import ConfigError

from .conftest import SITE_YAML


def problems_for(tmp_path, old: str, new: str) -> list[str]:
    text = SITE_YAML.format(state=tmp_path / "state", backup=tmp_path / "backup")
    assert old in text
    path = tmp_path / "site.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.problems


def test_bureau_unknown_channel(tmp_path):
    problems = problems_for(tmp_path, "email_channel: mail", "email_channel: post")
    assert len(problems) == 1
    assert "bureau.email_channel 指向的通道 'post' 不在 channels 中；已配置：bureau-group、mail" \
        in problems[0]


def test_bureau_channel_of_wrong_type(tmp_path):
    problems = problems_for(tmp_path, "wecom_channel: bureau-group", "wecom_channel: mail")
    assert "bureau.wecom_channel 指向的通道 'mail' 类型为 email，应为 wecom_robot 或 wecom_app 或 console" \
        in problems[0]


def test_bureau_email_channel_without_addresses(tmp_path):
    problems = problems_for(tmp_path, "emails: [noc@bureau.example.cn, duty@bureau.example.cn]",
                            "emails: []")
    assert "bureau.email_channel 已设置，但 bureau.emails 为空" in problems[0]


def test_bureau_invalid_address(tmp_path):
    problems = problems_for(tmp_path, "emails: [noc@bureau.example.cn, duty@bureau.example.cn]",
                            "emails: [noc.bureau.example.cn]")
    assert "邮箱地址无效：'noc.bureau.example.cn'" in problems[0]


def test_maintenance_notice_hours_must_be_positive(tmp_path):
    problems = problems_for(tmp_path, "  services: [hotline]", "  services: [hotline]\n  notice_hours: 0")
    assert "maintenance.notice_hours" in problems[0]


def test_drill_config_turns_off_report_and_backup(config, tmp_path):
    from hotline_monitor.simulator.drill import drill_config

    drilled = drill_config(config, config.ups[0], 16100, None, tmp_path / "drill")

    # The site's own settings send the report on the 3rd and back up daily.
    assert config.maintenance.report_day == 3
    assert config.maintenance.backup.folder == tmp_path / "backup"
    assert drilled.maintenance.report_day is None
    assert drilled.maintenance.backup.folder is None
    assert drilled.maintenance.notice_hours == config.maintenance.notice_hours


def test_scope_names_trunks_hosts_checks(tmp_path):
    from hotline_monitor.maintenance.scope import known_targets, parse_scope

    text = SITE_YAML.format(state=tmp_path / "state", backup=tmp_path / "backup") + """
sip_trunks:
  - {id: telecom-1, host: 127.0.0.1}
checks:
  - {id: crm-web, kind: http, target: "http://127.0.0.1:8080/health"}
hosts:
  - {id: callcenter-01}
"""
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    known = known_targets(load_config(path))

    assert known["telecom-1"] == "中继"
    assert known["crm-web"] == "检查"
    assert known["callcenter-01"] == "主机"
    assert known["ups-main"] == "UPS"
    assert known["hotline"] == "服务"
    scope, problems = parse_scope("telecom-1, crm-web,telecom-1", known)
    assert scope == ["telecom-1", "crm-web"]
    assert problems == []


def test_drill_config_keeps_site_ack_untouched(config, tmp_path):
    """A drill neither binds the site's ack port nor hands out ack numbers of its own state."""
    from hotline_monitor.simulator.drill import drill_config

    drilled = drill_config(config, config.ups[0], 16100, None, tmp_path / "drill", speed=30.0)

    assert drilled.alerting.ack_listen is None
    assert drilled.alerting.ack_hints is False
    assert drilled.alerting.forecast.time_scale == 30.0
    assert config.alerting.ack_hints is True
    assert config.alerting.forecast.time_scale == 1.0
