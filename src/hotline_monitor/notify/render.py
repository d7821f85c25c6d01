"""Render messages from Jinja2 templates, per message kind and channel format.

Templates live in `templates/<format>/<kind>.j2` inside this package; a site
folder (`notify.templates_dir`) with the same layout overrides any of them.
A missing `<kind>.j2` falls back to `generic.j2` of the same format.

Formats and their escaping:
- `text`: plain text (WeCom text, console, SMS gateways), no escaping needed.
- `markdown`: WeCom markdown. Every `{{ … }}` output is escaped, so a device
  name or a message from a device cannot add links, bold, headings or tags.
- `html`: e-mail; Jinja2 autoescaping is on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from hotline_monitor.notify.message import OutgoingMessage
from hotline_monitor.timeutil import local_text

SEVERITY_NAMES = {"info": "提示", "warning": "警告", "critical": "严重", "emergency": "紧急"}
KIND_NAMES = {
    "alert": "告警", "repeat": "告警提醒", "escalation": "告警升级", "recovery": "恢复",
    "interruption": "中断计时", "notice": "通知", "report": "报告", "test": "测试",
    "operator": "系统运维",
}
TRUNCATION_NOTE = "…（内容过长，已截断）"
DRILL_PREFIX = "【演练】"
RESEND_PREFIX = "【重发】"

# WeCom markdown documents no escape character, so markup characters become
# their full-width forms: they read the same in Chinese text and render as
# plain characters. Underscores stay: WeCom markdown has no underscore markup.
_MARKDOWN_REPLACEMENTS = str.maketrans({
    "*": "＊", "[": "［", "]": "］", "`": "｀", "<": "＜", ">": "＞", "#": "＃",
})


def escape_markdown(value: Any) -> str:
    """Make a value inert in WeCom markdown."""
    if value is None:
        return ""
    if isinstance(value, Markup):
        return str(value)
    return str(value).translate(_MARKDOWN_REPLACEMENTS)


def truncate_utf8(text: str, max_bytes: int, note: str = TRUNCATION_NOTE) -> str:
    """Cut text to at most `max_bytes` UTF-8 bytes at a character boundary, adding `note`."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text

    room = max_bytes - len(note.encode("utf-8"))
    # errors="ignore" drops the partial character left at the cut.
    head = encoded[:max(room, 0)].decode("utf-8", errors="ignore")
    return head + note


def truncate_chars(text: str, max_chars: int) -> str:
    """Cut text to at most `max_chars` characters, ending with … when cut."""
    if len(text) <= max_chars:
        return text
    return text[:max_chars - 1] + "…"


def message_prefix(message: OutgoingMessage, resend: bool) -> str:
    """Return the marks a message starts with: 【演练】 first, then 【重发】."""
    prefix = DRILL_PREFIX if message.drill else ""
    if resend:
        prefix += RESEND_PREFIX
    return prefix


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message rendered for one format."""

    subject: str
    body: str


class Renderer:
    """Renders messages with built-in templates, overridable from a site folder."""

    def __init__(self, site_dir: Path | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if site_dir is not None:
            loaders.append(jinja2.FileSystemLoader(str(site_dir)))
        loaders.append(jinja2.PackageLoader("hotline_monitor.notify", "templates"))
        loader = jinja2.ChoiceLoader(loaders)

        common = {"loader": loader, "undefined": jinja2.StrictUndefined,
                  "keep_trailing_newline": False, "trim_blocks": True, "lstrip_blocks": True}
        self._plain = jinja2.Environment(autoescape=False, **common)
        self._html = jinja2.Environment(autoescape=True, **common)
        self._markdown = jinja2.Environment(autoescape=False, finalize=escape_markdown, **common)

    def context(self, message: OutgoingMessage, resend: bool = False,
                mentions: list[str] | None = None) -> dict[str, Any]:
        """Return the variables available to every template."""
        return {
            "prefix": message_prefix(message, resend),
            "title": message.title,
            "text": message.text,
            "kind": message.kind,
            "kind_name": KIND_NAMES.get(message.kind, message.kind),
            "severity": message.severity,
            "severity_name": SEVERITY_NAMES.get(message.severity, message.severity),
            # The alerting engine's titles already open with their 【严重】-style tag.
            "severity_tag": "" if message.title.startswith("【")
            else f"【{SEVERITY_NAMES.get(message.severity, message.severity)}】",
            "time_text": local_text(message.created_ns),
            "drill": message.drill,
            "resend": resend,
            "key": message.key,
            "context": message.context,
            "mentions": mentions or [],
        }

    def render(self, message: OutgoingMessage, fmt: str, resend: bool = False,
               mentions: list[str] | None = None) -> Rendered:
        """Render subject and body of `message` for `fmt` (text, markdown or html)."""
        variables = self.context(message, resend, mentions)
        body = self._environment(fmt).get_template(self._pick(fmt, message)).render(variables)
        subject = self._plain.get_template(self._pick("subject", message)).render(variables)
        return Rendered(subject=subject.strip(), body=body.strip())

    def render_string(self, source: str, variables: dict[str, Any]) -> str:
        """Render a template written in the configuration (SMS parameters, gateway bodies)."""
        return self._plain.from_string(source).render(variables)

    def _environment(self, fmt: str) -> jinja2.Environment:
        if fmt == "html":
            return self._html
        if fmt == "markdown":
            return self._markdown
        return self._plain

    def _pick(self, fmt: str, message: OutgoingMessage) -> str:
        # A producer's own template name first, then one per kind, then the generic one.
        names = [f"{fmt}/{message.kind}.j2", f"{fmt}/generic.j2"]
        if message.template != "generic":
            names.insert(0, f"{fmt}/{message.template}.j2")
        for name in names:
            try:
                self._plain.loader.get_source(self._plain, name)
            except jinja2.TemplateNotFound:
                continue
            return name
        raise jinja2.TemplateNotFound(names[-1])
