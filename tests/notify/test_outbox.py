"""The outbox: idempotent enqueueing, restart with pending messages, 重发 after a crash."""

from __future__ import annotations

import asyncio

from mocks.wecom import WecomRobotMock

from hotline_monitor.notify.message import Recipient
from hotline_monitor.notify.service import build_notifier
from notify.conftest import alert, deliver, make_config

KEY = "outbox-robot-key-01"


def _robot(mock: WecomRobotMock) -> str:
    return f"ops:\n  type: wecom_robot\n  key: {KEY}\n  base_url: {mock.base_url}\n  format: text\n"


def test_enqueue_is_idempotent(tmp_path) -> None:
    config = make_config(tmp_path, "desk:\n  type: console\n")
    notifier = build_notifier(config)
    message = alert("same-key", Recipient("desk"), Recipient("console", "x"))
    assert notifier.outbox.enqueue(message) is True
    assert notifier.outbox.enqueue(message) is False
    rows = notifier.outbox.deliveries()
    asyncio.run(notifier.stop())

    # One delivery per recipient, and the second enqueue added none.
    assert [(row.channel, row.address) for row in rows] == [("desk", ""), ("console", "x")]


def test_mentions_in_one_group_are_one_delivery(tmp_path) -> None:
    config = make_config(tmp_path, "desk:\n  type: console\n")
    notifier = build_notifier(config)
    notifier.outbox.enqueue(alert("k", Recipient("desk", mention="a"),
                                  Recipient("desk", mention="b")))
    rows = notifier.outbox.deliveries()
    asyncio.run(notifier.stop())
    assert len(rows) == 1


def test_restart_sends_pending_messages(tmp_path, run) -> None:
    """Messages enqueued while nothing was sending go out after the next start."""
    with WecomRobotMock({KEY}) as mock:
        config = make_config(tmp_path, _robot(mock))
        first = build_notifier(config)
        first.outbox.enqueue(alert("p1", Recipient("ops"), title="第一条"))
        first.outbox.enqueue(alert("p2", Recipient("ops"), title="第二条"))
        asyncio.run(first.stop())
        assert mock.accepted == []

        rows = run(deliver(config, []))

    assert [row.state for row in rows] == ["sent", "sent"]
    contents = [payload["text"]["content"] for payload in mock.accepted]
    assert [content.splitlines()[0] for content in contents] == ["【严重】第一条", "【严重】第二条"]
    assert not any("【重发】" in content for content in contents)


def test_in_flight_delivery_is_resent_marked(tmp_path, run) -> None:
    """A delivery left `sending` by a dead process is sent again, saying 重发."""
    with WecomRobotMock({KEY}) as mock:
        config = make_config(tmp_path, _robot(mock))
        crashed = build_notifier(config)
        crashed.outbox.enqueue(alert("c1", Recipient("ops"), drill=True))
        delivery_id = crashed.outbox.deliveries()[0].id
        # The process marked the row and died during the provider call.
        crashed.outbox.mark_sending(delivery_id)
        asyncio.run(crashed.stop())

        rows = run(deliver(config, []))

    assert rows[0].state == "sent"
    assert rows[0].resend
    assert rows[0].attempts == 2
    assert mock.accepted[0]["text"]["content"].startswith("【演练】【重发】【严重】")


def test_fallback_chain_robot_sms_email(tmp_path, run) -> None:
    """Robot key invalid → SMS gateway down until its deadline → e-mail (console here)."""
    with WecomRobotMock({"other-key-xyz"}) as mock:
        channels = "\n".join([
            _robot(mock).rstrip("\n"), "  fallback: sms", "  fallback_to: ['13800000009']",
            "sms:", "  type: sms_http", "  url: http://127.0.0.1:9/unused", "  timeout: 1s",
            "  fallback: mail", "  fallback_to: [duty@bureau.example]",
            "mail:", "  type: console"]) + "\n"
        notify = "notify:\n  retry_initial: 100ms\n  deadlines: {critical: 600ms}\n"
        config = make_config(tmp_path, channels, notify)
        rows = run(deliver(config, [alert("f1", Recipient("ops"))]))

    assert [(row.channel, row.address, row.state) for row in rows] == [
        ("ops", "", "failed"), ("sms", "13800000009", "failed"),
        ("mail", "duty@bureau.example", "sent")]
    assert rows[1].parent_id == rows[0].id
    assert rows[2].parent_id == rows[1].id


def test_unknown_channel_is_failed(tmp_path, run) -> None:
    config = make_config(tmp_path, "desk:\n  type: console\n")
    rows = run(deliver(config, [alert("u1", Recipient("nowhere"))]))
    assert rows[0].state == "failed"
    assert "nowhere 未配置" in rows[0].last_error
