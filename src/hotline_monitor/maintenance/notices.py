"""Formal notices to the bureau: rendered from Chinese templates, enqueued, archived.

Every notice is written to the archive (`state_dir/archive/YYYY-MM/KEY/`) as
`notice.txt` before it is handed to the sink, and `results.json` beside it is
rewritten each time the delivery results are refreshed. The ledger keeps one
row per notice with the same results, so the operator can show what was
sent, to whom and when.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from hotline_monitor.maintenance.config import BureauConfig
from hotline_monitor.maintenance.ledger import Ledger, NoticeRow
from hotline_monitor.maintenance.timeinput import NS
from hotline_monitor.notify.message import MessageSink, OutgoingMessage, Recipient
from hotline_monitor.timeutil import SHANGHAI

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).with_name("templates")

DeliveryLookup = Callable[[str], list[dict[str, Any]]]
"""Return the delivery results of one message key: dicts with at least `channel`,
`address` and `state` (`sent` once the provider accepted it)."""

DELIVERY_TEMPLATE = "bureau"
"""Name of the delivery layer's templates (`notify/templates/*/bureau.j2`) for these notices."""

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def bureau_recipients(bureau: BureauConfig | None) -> list[Recipient]:
    if bureau is None:
        return []
    recipients = []
    if bureau.email_channel:
        recipients += [Recipient(bureau.email_channel, address) for address in bureau.emails]
    if bureau.wecom_channel:
        recipients.append(Recipient(bureau.wecom_channel))
    return recipients


class NoticeRenderer:
    """Renders a notice template into (title, text); the first line is the title."""

    def __init__(self, templates_dir: Path = TEMPLATES_DIR) -> None:
        self.environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(templates_dir)),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            # Kept so that an included block ends its last line.
            keep_trailing_newline=True,
            autoescape=False,
        )

    def render(self, template: str, context: dict[str, Any]) -> tuple[str, str]:
        rendered = self.environment.get_template(f"{template}.txt.j2").render(**context)
        title, _, body = rendered.partition("\n")
        return title.strip(), body.strip("\n") + "\n"


class NoticeSender:
    """Builds, archives, enqueues and records notices to the bureau."""

    def __init__(self, ledger: Ledger, sink: MessageSink | None, archive_dir: Path,
                 bureau: BureauConfig | None, delivery_lookup: DeliveryLookup | None = None,
                 renderer: NoticeRenderer | None = None) -> None:
        self.ledger = ledger
        self.sink = sink
        self.archive_dir = archive_dir
        self.bureau = bureau
        self.delivery_lookup = delivery_lookup
        self.renderer = renderer or NoticeRenderer()

    @property
    def bureau_name(self) -> str:
        return self.bureau.name if self.bureau else "市大数据局"

    def build(self, key: str, kind: str, template: str, context: dict[str, Any],
              severity: str = "info", message_kind: str = "notice") -> OutgoingMessage:
        title, text = self.renderer.render(template, {"bureau": self.bureau_name, **context})
        # The delivery layer renders every bureau notice with its `bureau`
        # templates: the title as written here, without a severity mark.
        return OutgoingMessage(key=key, kind=message_kind, severity=severity, title=title,
                               text=text, recipients=bureau_recipients(self.bureau),
                               template=DELIVERY_TEMPLATE,
                               context={"notice": kind, **_plain(context)})

    def send(self, message: OutgoingMessage, kind: str, now_ns: int, *,
             window_id: int | None = None, interruption_id: int | None = None,
             attachments: list[Path] | None = None) -> bool:
        """Archive and enqueue `message`; return False when its key was already recorded.

        A notice the sink did not take (no sink configured, or it raised) is
        still recorded, with `accepted = 0`, so that it is reported as undelivered.
        """
        if self.ledger.has_notice(message.key):
            return False
        message.created_ns = now_ns
        folder = self.archive_folder(message.key, now_ns)
        if attachments:
            # The e-mail channel attaches these files: the archived copies, which
            # stay as they were sent even if the report is built again.
            message.context["attachments"] = [str(folder / path.name) for path in attachments]
        _write_notice(folder, message, attachments or [])

        accepted = False
        error = ""
        if self.sink is None:
            error = "未配置发送通道（bureau 或 channels），通知只存档未发送"
        elif not message.recipients:
            error = "bureau 未配置收件人，通知只存档未发送"
        else:
            try:
                self.sink.enqueue(message)
                accepted = True
            except Exception as err:  # noqa: BLE001 - any sink failure is recorded, not raised
                error = f"发送队列写入失败：{err}"
                log.error("notice %s could not be enqueued: %s", message.key, err)

        self.ledger.insert_notice(key=message.key, kind=kind, title=message.title,
                                  text=message.text, created_ns=now_ns, accepted=accepted,
                                  archive=str(folder), window_id=window_id,
                                  interruption_id=interruption_id, drill=message.drill)
        results = [{"state": "failed", "error": error}] if error else []
        self._write_results(message.key, folder, results, now_ns)
        outcome = "enqueued" if accepted else "archived only"
        log.info("notice %s (%s) %s", message.key, kind, outcome)
        return True

    def archive_folder(self, key: str, now_ns: int) -> Path:
        month = datetime.fromtimestamp(now_ns / NS, UTC).astimezone(SHANGHAI).strftime("%Y-%m")
        return self.archive_dir / month / _UNSAFE.sub("_", key)

    def refresh_results(self, now_ns: int) -> None:
        """Copy delivery results from the delivery layer into the ledger and the archive."""
        if self.delivery_lookup is None:
            return
        for notice in self.ledger.undelivered_notices():
            if not notice.accepted:
                continue
            results = self.delivery_lookup(notice.key)
            if not results or results == notice.results:
                continue
            delivered = any(result.get("state") == "sent" for result in results)
            values: dict[str, Any] = {"results": results}
            if delivered:
                values["delivered_ns"] = now_ns
            self.ledger.update_notice(notice.key, **values)
            self._write_results(notice.key, Path(notice.archive), results, now_ns)

    def is_delivered(self, notice: NoticeRow | None) -> bool:
        """Tell whether the bureau received the notice through at least one channel."""
        return notice is not None and notice.delivered_ns is not None

    def _write_results(self, key: str, folder: Path, results: list[dict[str, Any]],
                       now_ns: int) -> None:
        if not folder.is_dir():
            return
        record = {"key": key, "checked_at_utc": _utc_text(now_ns), "results": results}
        temporary = folder / "results.json.tmp"
        temporary.write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
        temporary.replace(folder / "results.json")


def _write_notice(folder: Path, message: OutgoingMessage, attachments: list[Path]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    recipients = "、".join(f"{r.channel}:{r.address}" if r.address else r.channel
                          for r in message.recipients) or "（无）"
    header = (f"标题：{message.title}\n收件人：{recipients}\n"
              f"生成时间（UTC）：{_utc_text(message.created_ns)}\n\n")
    (folder / "notice.txt").write_text(header + message.text, encoding="utf-8")
    for attachment in attachments:
        target = folder / attachment.name
        if attachment.resolve() != target.resolve():
            target.write_bytes(attachment.read_bytes())


def _utc_text(time_ns: int) -> str:
    return datetime.fromtimestamp(time_ns / NS, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _plain(context: dict[str, Any]) -> dict[str, Any]:
    """Keep the JSON-serialisable part of a template context for the message."""
    return json.loads(json.dumps(context, ensure_ascii=False, default=str))
