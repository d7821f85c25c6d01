"""E-mail over SMTP against aiosmtpd with STARTTLS or implicit TLS and AUTH."""

from __future__ import annotations

import pytest
from mocks.smtp import SmtpServer
from servers import free_port

from hotline_monitor.notify.message import Recipient
from notify.conftest import alert, deliver, make_config

PASSWORD = "smtp-pass-61c0"


def _email(server: SmtpServer, security: str, password: str = PASSWORD) -> str:
    return "\n".join([
        "bureau:", "  type: email", "  host: 127.0.0.1", f"  port: {server.port}",
        f"  security: {security}", "  username: monitor", f"  password: {password}",
        "  from_address: monitor@hotline.example", f"  ca_bundle: {server.cert_file}",
        "  timeout: 5s"]) + "\n"


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_email_html_and_plain_parts(tmp_path, run, security) -> None:
    with SmtpServer(tmp_path, free_port(), security, "monitor", PASSWORD) as server:
        config = make_config(tmp_path, _email(server, security))
        message = alert("n1", Recipient("bureau", "duty@bureau.example"), kind="notice",
                        severity="info", title="计划检修通知 <UPS-1>",
                        text="12 月 6 日 02:00 至 04:00 检修。\n检修期间热线不中断。")
        rows = run(deliver(config, [message]))

    assert rows[0].state == "sent"
    received = server.messages[0]
    assert received["Subject"] == "【通知】计划检修通知 <UPS-1>"
    assert received["To"] == "duty@bureau.example"
    plain = received.get_body(("plain",)).get_content()
    html = received.get_body(("html",)).get_content()
    assert "12 月 6 日 02:00 至 04:00 检修。" in plain
    assert "计划检修通知 &lt;UPS-1&gt;" in html
    assert "<p>检修期间热线不中断。</p>" in html


def test_email_wrong_password_is_rejected(tmp_path, run) -> None:
    with SmtpServer(tmp_path, free_port(), "starttls", "monitor", PASSWORD) as server:
        config = make_config(tmp_path, _email(server, "starttls", password="wrong-pass-000"))
        rows = run(deliver(config, [alert("n1", Recipient("bureau", "duty@bureau.example"))]))

    assert rows[0].state == "failed"
    assert "拒绝登录" in rows[0].last_error
    assert "wrong-pass-000" not in rows[0].last_error
    assert server.messages == []


def test_email_server_down_is_retried(tmp_path, run) -> None:
    port = free_port()
    config_text = "\n".join([
        "bureau:", "  type: email", "  host: 127.0.0.1", f"  port: {port}", "  security: none",
        "  from_address: monitor@hotline.example", "  timeout: 1s"]) + "\n"
    notify = "notify:\n  retry_initial: 100ms\n  deadlines: {critical: 1s}\n"
    config = make_config(tmp_path, config_text, notify)
    rows = run(deliver(config, [alert("n1", Recipient("bureau", "duty@bureau.example"))]))

    assert rows[0].state == "failed"
    assert rows[0].attempts >= 2
    assert "ConnectionRefusedError" in rows[0].last_error
    # Nothing reached a server, so nothing is marked for 重发.
    assert not rows[0].resend
