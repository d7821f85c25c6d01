"""WeCom group robot against the local webhook mock."""

from __future__ import annotations

import json
import logging
import time

from mocks.wecom import WecomRobotMock

from hotline_monitor.notify.message import Recipient
from notify.conftest import FAST_NOTIFY, alert, deliver, make_config

KEY = "3f2a9c1e-robot-key-0001"


def _robot(mock: WecomRobotMock, fmt: str = "text", **extra: str) -> str:
    lines = [f"{name}: {value}" for name, value in extra.items()]
    return "\n".join([
        "ops:", "  type: wecom_robot", f"  key: {KEY}", f"  base_url: {mock.base_url}",
        f"  format: {fmt}", "  timeout: 1s", *(f"  {line}" for line in lines)]) + "\n"


def test_robot_text_with_mentions(tmp_path, run) -> None:
    with WecomRobotMock({KEY}) as mock:
        config = make_config(tmp_path, _robot(mock))
        message = alert("a1", Recipient("ops", mention="13800000001"),
                        Recipient("ops", mention="zhangsan"))
        rows = run(deliver(config, [message]))

    assert len(mock.accepted) == 1
    text = mock.accepted[0]["text"]
    assert text["mentioned_mobile_list"] == ["13800000001"]
    assert text["mentioned_list"] == ["zhangsan"]
    assert text["content"].startswith("【严重】主机房 UPS 转为电池供电\n市电中断")
    assert [row.state for row in rows] == ["sent"]


def test_robot_markdown_mention_and_escaping(tmp_path, run) -> None:
    """Markup in a device name arrives inert; the mention uses <@userid>."""
    with WecomRobotMock({KEY}) as mock:
        config = make_config(tmp_path, _robot(mock, "markdown"))
        message = alert("a1", Recipient("ops", mention="lisi"),
                        title="UPS [恶意](http://x) **粗体** <font color=\"warning\">")
        run(deliver(config, [message]))

    content = mock.accepted[0]["markdown"]["content"]
    assert "<@lisi>" in content
    assert "[恶意]" not in content
    assert "<font" not in content
    assert "［恶意］(http://x) ＊＊粗体＊＊ ＜font color=\"warning\"＞" in content


def test_robot_5000_byte_alert_is_cut(tmp_path, run) -> None:
    """A 5,000-byte alert fits the 2,048-byte text limit and is marked as shortened."""
    with WecomRobotMock({KEY}) as mock:
        config = make_config(tmp_path, _robot(mock))
        run(deliver(config, [alert("big", Recipient("ops"), text="停" * 1700)]))

    content = mock.accepted[0]["text"]["content"]
    assert len(content.encode("utf-8")) <= 2048
    assert content.endswith("…（内容过长，已截断）")
    assert 40058 not in mock.rejected


def test_robot_5000_byte_markdown_is_cut(tmp_path, run) -> None:
    with WecomRobotMock({KEY}) as mock:
        config = make_config(tmp_path, _robot(mock, "markdown"))
        run(deliver(config, [alert("big", Recipient("ops"), text="停" * 1700)]))

    content = mock.accepted[0]["markdown"]["content"]
    assert 4096 - 3 < len(content.encode("utf-8")) <= 4096
    assert content.endswith("…（内容过长，已截断）")


def test_robot_rate_limit_burst_is_queued(tmp_path, run) -> None:
    """12 messages against a limit of 5 per second all arrive, none refused with 45009."""
    with WecomRobotMock({KEY}, rate_limit=5, rate_window=1.0) as mock:
        config = make_config(tmp_path, _robot(mock, rate_limit="5", rate_window="1s"),
                             FAST_NOTIFY.replace("3s", "20s"))
        messages = [alert(f"burst-{index}", Recipient("ops"), title=f"告警 {index}")
                    for index in range(12)]
        started = time.monotonic()
        run(deliver(config, messages, timeout=15))
        elapsed = time.monotonic() - started

    assert len(mock.accepted) == 12
    assert 45009 not in mock.rejected
    # 12 messages at 5 per second need two full windows of waiting.
    assert elapsed >= 2.0
    titles = [payload["text"]["content"].splitlines()[0] for payload in mock.accepted]
    assert titles == [f"【严重】告警 {index}" for index in range(12)]


def test_robot_45009_retries_later(tmp_path, run) -> None:
    with WecomRobotMock({KEY}) as mock:
        mock.script.append(("errcode", 45009))
        config = make_config(tmp_path, _robot(mock, rate_window="300ms"))
        rows = run(deliver(config, [alert("a1", Recipient("ops"))]))

    assert len(mock.accepted) == 1
    row = rows[0]
    assert row.state == "sent"
    assert row.attempts == 2
    # The provider refused the first copy, so the second is not a resend.
    assert not row.resend
    assert not mock.accepted[0]["text"]["content"].startswith("【重发】")


def test_robot_500_is_retried_as_resend(tmp_path, run) -> None:
    """After an HTTP 500 the outcome is unknown, so the retry is marked 重发."""
    with WecomRobotMock({KEY}) as mock:
        mock.script.append(("status", 500))
        config = make_config(tmp_path, _robot(mock))
        rows = run(deliver(config, [alert("a1", Recipient("ops"))]))

    assert mock.accepted[0]["text"]["content"].startswith("【重发】【严重】")
    assert rows[0].resend


def test_robot_timeout_is_retried_as_resend(tmp_path, run) -> None:
    with WecomRobotMock({KEY}) as mock:
        mock.script.append(("delay", 1.5))
        config = make_config(tmp_path, _robot(mock))
        run(deliver(config, [alert("a1", Recipient("ops"))]))

    # The slow first request was still accepted after the client gave up at 1 s,
    # and the retry arrived before it; exactly one of the two copies is marked 重发.
    contents = sorted(payload["text"]["content"] for payload in mock.accepted)
    assert len(contents) == 2
    assert [content.startswith("【重发】") for content in contents] == [False, True]


def test_robot_40058_falls_back(tmp_path, run) -> None:
    with WecomRobotMock({KEY}) as mock:
        mock.script.append(("errcode", 40058))
        config = make_config(tmp_path, _robot(mock, fallback="console"))
        rows = run(deliver(config, [alert("a1", Recipient("ops"))]))

    assert [(row.channel, row.state) for row in rows] == [("ops", "failed"), ("console", "sent")]
    assert "40058" in rows[0].last_error
    assert rows[1].parent_id == rows[0].id


def test_robot_invalid_key_alerts_operator(tmp_path, run, capsys) -> None:
    """93000 is permanent: fallback takes over and the operator hears of it elsewhere."""
    with WecomRobotMock({"another-key-000"}) as mock:
        channels = _robot(mock, fallback="console") + "desk:\n  type: console\n"
        notify = """
        notify:
          retry_initial: 50ms
          operator: [{channel: desk}]
        """
        config = make_config(tmp_path, channels, notify)
        rows = run(deliver(config, [alert("a1", Recipient("ops"))]))

    assert mock.rejected == [93000]
    assert [(row.channel, row.state) for row in rows] == [
        ("ops", "failed"), ("console", "sent"), ("desk", "sent")]
    assert rows[2].message_key.startswith("operator:ops:")
    printed = capsys.readouterr().out
    assert "通知渠道 ops 不可用" in printed
    assert KEY not in printed


def test_robot_key_never_logged(tmp_path, run, caplog) -> None:
    """The webhook key stays out of logs (httpx logs URLs at INFO) and stored errors."""
    caplog.set_level(logging.DEBUG)
    with WecomRobotMock({"another-key-000"}) as mock:
        mock.script.append(("status", 500))
        config = make_config(tmp_path, _robot(mock))
        rows = run(deliver(config, [alert("a1", Recipient("ops"))]))

    assert "key=***" in caplog.text
    assert KEY not in caplog.text
    stored = json.dumps([row.last_error for row in rows],
                        ensure_ascii=False)
    assert KEY not in stored
    assert "webhook key 无效" in stored
