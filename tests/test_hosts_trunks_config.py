"""The hosts, checks and sip_trunks configuration sections, and their collectors."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline_monitor.collectors.registry import build_collectors
from hotline_monitor.config.loader import parse_config
from hotline_monitor.errors import ConfigError

VALID = """\
site: xuzhou-12345
hosts:
  - id: callcenter-01
    interval: 10s
    exclude_disks: [/boot]
    processes:
      - name: kamailio
      - name: business-app
        pattern: java .*hotline\\.jar
        min_count: 2
    systemd_units: [kamailio.service]
checks:
  - id: crm-web
    kind: http
    target: https://127.0.0.1:8443/health
    timeout: 3s
  - id: db
    kind: tcp
    target: 127.0.0.1:5432
  - id: gateway
    kind: icmp
    target: 127.0.0.1
sip_trunks:
  - id: telecom
    name: 电信中继
    host: 127.0.0.1
    transport: udp
    failures_before_down: 3
  - id: unicom
    host: 127.0.0.1
    transport: tls
    ca_path: /etc/ssl/certs/ca-certificates.crt
"""


def load(text: str):
    return parse_config(text, Path("/tmp/hotline.yaml"))


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(text)
    return caught.value.problems


def test_valid_sections_build_collectors():
    config = load(VALID)
    assert config.hosts[0].processes[1].min_count == 2
    assert config.sip_trunks[0].peer_port == 5060
    assert config.sip_trunks[1].peer_port == 5061
    assert config.sip_trunks[1].request_uri == "sips:127.0.0.1:5061"
    assert config.checks[1].tcp_address() == ("127.0.0.1", 5432)

    collectors = build_collectors(config)
    kinds = [(collector.kind, collector.target, collector.interval) for collector in collectors]
    assert kinds == [
        ("host", "callcenter-01", 10.0),
        ("check", "crm-web", 30.0),
        ("check", "db", 30.0),
        ("check", "gateway", 30.0),
        ("sip_trunk", "telecom", 10.0),
        ("sip_trunk", "unicom", 10.0),
    ]


def test_two_hosts_rejected():
    text = "site: s\nhosts:\n  - id: a\n  - id: b\n"
    (problem,) = problems_of(text)
    assert problem.startswith("hotline.yaml:2: hosts:")
    assert "hosts 只能有一项（本机），当前有 2 项" in problem


def test_bad_trunk_fields_named_with_lines():
    text = (
        "site: s\n"
        "sip_trunks:\n"
        "  - id: a\n"
        "    host: 127.0.0.1\n"
        "    transport: sctp\n"
        "  - id: b\n"
        "    host: 127.0.0.1\n"
        "    timeout: 20s\n"
        "    interval: 10s\n"
        "  - id: c\n"
        "    host: 127.0.0.1\n"
        "    accept_codes: [200, 503]\n"
        "  - id: d\n"
        "    host: 127.0.0.1\n"
        "    from_uri: monitor@example\n"
    )
    problems = problems_of(text)
    assert len(problems) == 4
    assert problems[0].startswith("hotline.yaml:5: sip_trunks[0].transport:")
    assert "'sctp'" in problems[0]
    assert "timeout（20 秒）不能大于 interval（10 秒）" in problems[1]
    assert "accept_codes 不能包含 [503]" in problems[2]
    assert "from_uri 必须是 sip: 或 sips: 开头的 URI" in problems[3]


def test_bad_checks_and_host_fields():
    text = (
        "site: s\n"
        "checks:\n"
        "  - id: a\n"
        "    kind: tcp\n"
        "    target: 127.0.0.1\n"
        "  - id: b\n"
        "    kind: http\n"
        "    target: ftp://127.0.0.1/\n"
        "hosts:\n"
        "  - id: h\n"
        "    processes:\n"
        "      - name: x\n"
        "        pattern: '(unclosed'\n"
    )
    problems = problems_of(text)
    assert any("tcp 检查的 target 必须写成 主机:端口" in problem for problem in problems)
    assert any("http 检查的 target 必须是 http:// 或 https:// 开头的 URL" in problem
               for problem in problems)
    assert any("pattern '(unclosed' 不是有效的正则表达式" in problem for problem in problems)

    disks = problems_of(
        "site: s\nhosts:\n  - id: h\n    disks: [data, /]\n    exclude_disks: [/]\n")
    assert len(disks) == 1
    assert "挂载点 ['/'] 同时出现在 disks 和 exclude_disks 中" in disks[0]
    relative = problems_of("site: s\nhosts:\n  - id: h\n    disks: [data]\n")
    assert "disks / exclude_disks 必须写绝对挂载点路径，错误的有 ['data']" in relative[0]


def test_duplicate_trunk_ids():
    text = "site: s\nsip_trunks:\n  - {id: a, host: 127.0.0.1}\n  - {id: a, host: 127.0.0.2}\n"
    problems = problems_of(text)
    assert any("id 'a' 重复" in problem for problem in problems)
