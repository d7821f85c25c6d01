"""A small HTTP server for acknowledgement links, opened from a phone.

`GET /ack?id=…&exp=…&sig=…` shows the alert group and a button; pressing it
sends `POST /ack`, which acknowledges. The two steps keep link previewers
(WeCom fetches links to draw a card) from acknowledging by merely loading the
page. A wrong or expired signature gets 403 with a Chinese page. The server is
plain asyncio with HTTP/1.1 and `Connection: close`: one request a connection.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from hotline_monitor.alerting.links import verify
from hotline_monitor.alerting.store import AlertStore
from hotline_monitor.alerting.texts import alert_line

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 16_384
READ_TIMEOUT_S = 10.0

_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:sans-serif;margin:1.2em;font-size:18px}}
button,input{{font-size:20px;padding:.5em;margin:.3em 0;width:100%}}</style>
</head><body><h2>{title}</h2>{body}</body></html>
"""

_REASONS = {
    "signature": "链接签名无效：链接可能被改动或不完整，请从告警消息中重新打开。",
    "expired": "链接已过期：请用命令 hotline-monitor alerts ack 确认，或等待下一条告警消息中的新链接。",
}


class AckServer:
    """Serves signed acknowledgement links against the alert store."""

    def __init__(self, store: AlertStore, secret: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.secret = secret
        self.clock = clock
        self.server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Start listening; return the bound port (useful when `port` is 0)."""
        self.server = await asyncio.start_server(self._handle, host, port)
        bound = self.server.sockets[0].getsockname()[1]
        log.info("acknowledgement links served on %s:%d", host, bound)
        return int(bound)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, page = await asyncio.wait_for(self._respond(reader), READ_TIMEOUT_S)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ValueError, UnicodeDecodeError) as err:
            log.info("acknowledgement request rejected: %r", err)
            status, page = 400, _page("请求无效", "<p>请求格式无效。</p>")
        body = page.encode("utf-8")
        reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
                  405: "Method Not Allowed"}[status]
        head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n"
                "Connection: close\r\n\r\n")
        try:
            writer.write(head.encode("ascii") + body)
            await writer.drain()
        except ConnectionError as err:
            log.info("acknowledgement client went away before the answer: %s", err)
        finally:
            writer.close()

    async def _respond(self, reader: asyncio.StreamReader) -> tuple[int, str]:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > MAX_REQUEST_BYTES:
            raise ValueError("request head too large")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, _ = request_line.split(" ", 2)
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        url = urlsplit(target)
        if url.path != "/ack":
            return 404, _page("未找到", "<p>没有这个页面。</p>")

        if method == "GET":
            return self._confirm_page(parse_qs(url.query))
        if method == "POST":
            length = int(headers.get("content-length", "0"))
            if length > MAX_REQUEST_BYTES:
                raise ValueError("request body too large")
            body = await reader.readexactly(length)
            return self._acknowledge(parse_qs(body.decode("utf-8")))
        return 405, _page("不支持的请求", "<p>只支持 GET 和 POST。</p>")

    def _check(self, query: dict[str, list[str]]) -> tuple[int, str] | int:
        """Return the group id of a valid link, or the 403 response."""
        try:
            group_id = int(query["id"][0])
            expires = int(query["exp"][0])
            signature = query["sig"][0]
        except (KeyError, IndexError, ValueError):
            return 403, _page("无法确认", f"<p>{_REASONS['signature']}</p>")
        problem = verify(self.secret, group_id, expires, signature, self.clock())
        if problem:
            log.warning("acknowledgement link for group %d rejected: %s", group_id, problem)
            return 403, _page("无法确认", f"<p>{_REASONS[problem]}</p>")
        return group_id

    def _confirm_page(self, query: dict[str, list[str]]) -> tuple[int, str]:
        checked = self._check(query)
        if not isinstance(checked, int):
            return checked
        group = self.store.group(checked)
        if group is None:
            return 404, _page("未找到", f"<p>告警 #{checked} 不存在。</p>")
        lines = "".join(
            f"<p>{html.escape(alert_line(a.severity, a.summary, a.state, a.fired_ns, a.resolved_ns))}</p>"
            for a in self.store.group_alerts(checked) if a.state != "pending")
        if group.acked_ns is not None:
            return 200, _page(f"告警 #{checked} 已确认",
                              f"<p>确认人：{html.escape(group.acked_by or '')}</p>{lines}")
        hidden = "".join(f'<input type="hidden" name="{name}" value="{html.escape(query[name][0])}">'
                         for name in ("id", "exp", "sig"))
        form = (f'<form method="post" action="/ack">{hidden}'
                '<input name="by" placeholder="您的姓名" required>'
                '<button type="submit">确认告警，停止升级通知</button></form>')
        return 200, _page(f"确认告警 #{checked}", lines + form)

    def _acknowledge(self, form: dict[str, list[str]]) -> tuple[int, str]:
        checked = self._check(form)
        if not isinstance(checked, int):
            return checked
        by = (form.get("by") or ["链接确认"])[0].strip()[:40] or "链接确认"
        with self.store.lock:
            acknowledged = self.store.acknowledge(checked, by, int(self.clock() * 1e9))
        if not acknowledged:
            return 404, _page("无法确认", f"<p>告警 #{checked} 不存在或已恢复。</p>")
        log.info("alert group %d acknowledged by %s through a link", checked, by)
        return 200, _page(f"告警 #{checked} 已确认", f"<p>确认人：{html.escape(by)}。升级通知已停止。</p>")


def _page(title: str, body: str) -> str:
    return _PAGE.format(title=html.escape(title), body=body)


def parse_listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)
