"""WeCom application messages against the local API mock."""

from __future__ import annotations

import asyncio

from mocks.wecom import WecomAppMock

from hotline_monitor.notify.channels.base import Delivery
from hotline_monitor.notify.channels.wecom_app import WecomApp
from hotline_monitor.notify.message import Recipient
from hotline_monitor.notify.render import Renderer
from notify.conftest import alert, deliver, make_config

SECRET = "corp-secret-5b7e11"


def _app(mock: WecomAppMock, **extra: str) -> str:
    lines = [f"  {name}: {value}" for name, value in extra.items()]
    return "\n".join(["duty:", "  type: wecom_app", "  corpid: ww0001", f"  corpsecret: {SECRET}",
                      "  agentid: 1000002", f"  base_url: {mock.base_url}", *lines]) + "\n"


def _mock() -> WecomAppMock:
    return WecomAppMock("ww0001", SECRET, 1000002, {"zhangsan", "lisi"})


def test_app_sends_with_duplicate_check(tmp_path, run) -> None:
    with _mock() as mock:
        config = make_config(tmp_path, _app(mock, duplicate_check_interval="600"))
        rows = run(deliver(config, [alert(f"a{index}", Recipient("duty", "zhangsan"),
                                          title=f"告警 {index}") for index in range(3)]))

    assert [row.state for row in rows] == ["sent"] * 3
    assert len(mock.delivered) == 3
    body = mock.delivered[0]
    assert body["touser"] == "zhangsan"
    assert body["agentid"] == 1000002
    assert body["enable_duplicate_check"] == 1
    assert body["duplicate_check_interval"] == 600
    # The token is fetched once and reused for its 7,200 s lifetime.
    assert mock.tokens_issued == 1


def test_app_token_expiry_mid_burst(tmp_path, run) -> None:
    """The token dies after two sends: a new one is fetched and each send retried once."""
    with _mock() as mock:
        mock.expire_after_sends = 2
        config = make_config(tmp_path, _app(mock))
        rows = run(deliver(config, [alert(f"a{index}", Recipient("duty", "lisi"),
                                          title=f"告警 {index}") for index in range(5)]))

    assert [row.state for row in rows] == ["sent"] * 5
    assert [row.attempts for row in rows] == [1] * 5
    assert len(mock.delivered) == 5
    # Sends 1-2 on token 1, 3-4 on token 2, 5 on token 3.
    assert mock.tokens_issued == 3


def test_app_expired_token_42001_refreshes(tmp_path, run) -> None:
    with _mock() as mock:
        config = make_config(tmp_path, _app(mock))
        channel = WecomApp("duty", config.channels["duty"], Renderer())

        async def scenario() -> list[str]:
            first = await channel.send(Delivery(1, alert("a1"), "duty", "zhangsan"))
            mock.expire_all_tokens()
            second = await channel.send(Delivery(2, alert("a2", title="第二条"), "duty",
                                                 "zhangsan"))
            await channel.close()
            return [first, second]

        answers = asyncio.run(scenario())

    assert all(answer.startswith("企业微信应用消息已接收") for answer in answers)
    assert mock.tokens_issued == 2
    assert len(mock.delivered) == 2


def test_app_resend_is_dropped_by_duplicate_check(tmp_path, run) -> None:
    """A resend keeps the first copy's text, so WeCom's duplicate check drops it."""
    with _mock() as mock:
        config = make_config(tmp_path, _app(mock))
        channel = WecomApp("duty", config.channels["duty"], Renderer())
        message = alert("a1")

        async def scenario() -> None:
            await channel.send(Delivery(1, message, "duty", "zhangsan"))
            await channel.send(Delivery(1, message, "duty", "zhangsan", resend=True))
            await channel.close()

        asyncio.run(scenario())

    assert len(mock.delivered) == 1
    assert len(mock.duplicates) == 1


def test_app_invalid_secret_is_permanent(tmp_path, run) -> None:
    with WecomAppMock("ww0001", "other-secret", 1000002, {"zhangsan"}) as mock:
        config = make_config(tmp_path, _app(mock, fallback="console"))
        rows = run(deliver(config, [alert("a1", Recipient("duty", "zhangsan"))]))

    assert [(row.channel, row.state) for row in rows] == [("duty", "failed"), ("console", "sent")]
    assert "40001" in rows[0].last_error
    assert SECRET not in rows[0].last_error


def test_app_unknown_user_is_rejected(tmp_path, run) -> None:
    with _mock() as mock:
        config = make_config(tmp_path, _app(mock))
        rows = run(deliver(config, [alert("a1", Recipient("duty", "wangwu"))]))

    assert rows[0].state == "failed"
    assert "wangwu" in rows[0].last_error
    assert mock.delivered == []


def test_app_invalid_token_40014_refreshes(tmp_path, run) -> None:
    """A token WeCom rejects as invalid (40014) is replaced and the send retried once."""
    with _mock() as mock:
        config = make_config(tmp_path, _app(mock))
        channel = WecomApp("duty", config.channels["duty"], Renderer())

        async def scenario() -> str:
            await channel.send(Delivery(1, alert("a1"), "duty", "zhangsan"))
            with mock.lock:
                mock.tokens.clear()
            answer = await channel.send(Delivery(2, alert("a2", title="第二条"), "duty",
                                                 "zhangsan"))
            await channel.close()
            return answer

        answer = asyncio.run(scenario())

    assert answer.startswith("企业微信应用消息已接收")
    assert mock.tokens_issued == 2
    assert len(mock.delivered) == 2
