"""Notices and reports through the real outbox, dispatcher and an aiosmtpd server."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta

from mocks.smtp import SmtpServer
from servers import free_port

from hotline_monitor.agent.cli import main
from hotline_monitor.config import load_config
from hotline_monitor.maintenance import delivery
from hotline_monitor.maintenance.service import MaintenanceService
from hotline_monitor.notify.service import build_notifier
from hotline_monitor.reading import now_ns
from hotline_monitor.reports.build import build_report, send_report
from hotline_monitor.reports.figures import month_period
from hotline_monitor.timeutil import SHANGHAI

PASSWORD = "smtp-pass-7d21"


def site_yaml(tmp_path, server: SmtpServer) -> str:
    return f"""\
site: xuzhou-12345
state_dir: {tmp_path / 'state'}
ups:
  - id: ups-main
    snmp: {{host: 127.0.0.1, port: 161}}
channels:
  bureau-mail:
    type: email
    host: 127.0.0.1
    port: {server.port}
    security: starttls
    username: monitor
    password: {PASSWORD}
    from_address: monitor@hotline.example
    ca_bundle: {server.cert_file}
    timeout: 5s
notify:
  retry_initial: 50ms
  deadlines: {{info: 5s, warning: 5s, critical: 5s, emergency: 5s}}
bureau:
  name: 徐州市大数据局
  email_channel: bureau-mail
  emails: [noc@bureau.example.cn]
  wecom_channel: console
"""


async def dispatch(config) -> None:
    notifier = build_notifier(config)
    await notifier.start()
    idle = await notifier.drain(10.0)
    await notifier.stop()
    assert idle, "deliveries still pending after 10 s"


def test_notice_delivered_and_results_archived(tmp_path, capsys):
    with SmtpServer(tmp_path, free_port(), "starttls", "monitor", PASSWORD) as server:
        site = tmp_path / "site.yaml"
        site.write_text(site_yaml(tmp_path, server), encoding="utf-8")
        start = (datetime.now(SHANGHAI) + timedelta(hours=50)).strftime("%Y-%m-%d %H:%M")
        end = (datetime.now(SHANGHAI) + timedelta(hours=52)).strftime("%Y-%m-%d %H:%M")
        code = main(["maint", "add", "-c", str(site), "--kind", "网络升级", "--start", start,
                     "--end", end, "--scope", "ups-main", "--description", "核心交换机升级",
                     "--impact", "无", "--contact", "李工"])
        assert code == 0
        config = load_config(site)
        asyncio.run(dispatch(config))

        sink, lookup, close = delivery.open_outbox(config)
        service = MaintenanceService(config, sink, lookup)
        try:
            service.due_notices(now_ns())
            notice = service.ledger.notices(window_id=1)[0]
        finally:
            service.close()
            close()

    assert len(server.messages) == 1
    mail = server.messages[0]
    assert mail["To"] == "noc@bureau.example.cn"
    assert mail["Subject"] == f"【检修通知】{start} 网络升级（MW-1）"
    assert "核心交换机升级" in mail.get_body(("plain",)).get_content()
    assert notice.delivered_ns is not None
    results = json.loads((tmp_path / "state" / "archive" / notice.archive.split("/archive/")[1]
                          / "results.json").read_text(encoding="utf-8"))["results"]
    assert sorted((r["channel"], r["state"]) for r in results) == [("bureau-mail", "sent"),
                                                                   ("console", "sent")]


def test_report_mailed_with_attachments(tmp_path):
    with SmtpServer(tmp_path, free_port(), "starttls", "monitor", PASSWORD) as server:
        site = tmp_path / "site.yaml"
        site.write_text(site_yaml(tmp_path, server), encoding="utf-8")
        config = load_config(site)
        sink, lookup, close = delivery.open_outbox(config)
        service = MaintenanceService(config, sink, lookup)
        try:
            now = now_ns()
            files = build_report(config, service.ledger, month_period("2026-01"), now)
            send_report(files, service.sender, config.site, 48.0, now)
        finally:
            service.close()
            close()
        asyncio.run(dispatch(config))

    mail = server.messages[0]
    names = sorted(part.get_filename() for part in mail.iter_attachments())
    assert names == ["report-monthly-2026-01.html", "report-monthly-2026-01.xlsx"] or \
        names == ["report-monthly-2026-01.html", "report-monthly-2026-01.pdf",
                  "report-monthly-2026-01.xlsx"]
    assert "可用率：100.000 %" in mail.get_body(("plain",)).get_content()
