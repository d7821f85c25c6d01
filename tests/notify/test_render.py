"""Templates, escaping and byte limits."""

from __future__ import annotations

from hotline_monitor.notify.message import OutgoingMessage
from hotline_monitor.notify.render import (
    TRUNCATION_NOTE,
    Renderer,
    escape_markdown,
    truncate_chars,
    truncate_utf8,
)


def _message(**overrides) -> OutgoingMessage:
    values = {"key": "k1", "kind": "alert", "severity": "critical", "title": "UPS 转电池",
              "text": "市电中断", "recipients": []}
    values.update(overrides)
    return OutgoingMessage(**values)


def test_truncate_utf8_cuts_at_character_boundary() -> None:
    """A 5,000-byte Chinese text is cut under 2,048 bytes, never mid-character."""
    text = "电" * 1667  # 3 bytes each: 5,001 bytes
    cut = truncate_utf8(text, 2048)
    encoded = cut.encode("utf-8")
    assert len(encoded) <= 2048
    assert cut.endswith(TRUNCATION_NOTE)
    # The note is 33 bytes (… and 10 full-width characters, 3 bytes each), which
    # leaves room for (2048 - 33) // 3 = 671 whole characters.
    assert len(TRUNCATION_NOTE.encode("utf-8")) == 33
    assert cut.removesuffix(TRUNCATION_NOTE) == "电" * 671


def test_truncate_utf8_leaves_short_text() -> None:
    assert truncate_utf8("短消息", 2048) == "短消息"


def test_truncate_chars_marks_the_cut() -> None:
    assert truncate_chars("一二三四五六", 4) == "一二三…"
    assert truncate_chars("一二三", 4) == "一二三"


def test_markdown_escapes_markup_in_device_name() -> None:
    """A device name cannot add a link, bold text, a heading or a mention."""
    name = "UPS**A**[点我](http://evil.example)<@all>#标题`x`"
    rendered = Renderer().render(_message(title=name, text=name), "markdown")
    body = rendered.body
    assert "[点我]" not in body
    assert "<@all>" not in body
    assert "**A**" not in body
    assert "＊＊A＊＊［点我］(http://evil.example)＜@all＞＃标题｀x｀" in body
    # The template's own markup is kept.
    assert body.startswith("**【严重】")


def test_markdown_mentions_use_userid_syntax() -> None:
    rendered = Renderer().render(_message(), "markdown", mentions=["zhangsan"])
    assert "<@zhangsan>" in rendered.body


def test_escape_markdown_keeps_plain_chinese() -> None:
    assert escape_markdown("主机房 UPS_1 电池 42%") == "主机房 UPS_1 电池 42%"


def test_html_is_autoescaped() -> None:
    rendered = Renderer().render(_message(title="<script>x</script>", text="a & b"), "html")
    assert "<script>" not in rendered.body
    assert "&lt;script&gt;x&lt;/script&gt;" in rendered.body
    assert "a &amp; b" in rendered.body


def test_drill_and_resend_prefixes() -> None:
    rendered = Renderer().render(_message(drill=True), "text", resend=True)
    assert rendered.body.startswith("【演练】【重发】【严重】UPS 转电池")
    assert rendered.subject == "【演练】【重发】【严重】UPS 转电池"


def test_site_folder_overrides_builtin(tmp_path) -> None:
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "alert.j2").write_text("站点模板：{{ title }}", encoding="utf-8")
    renderer = Renderer(tmp_path)
    assert renderer.render(_message(), "text").body == "站点模板：UPS 转电池"
    # Kinds without a site template keep the built-in one.
    assert renderer.render(_message(kind="recovery"), "text").body.startswith("【恢复】")


def test_times_are_shown_in_shanghai() -> None:
    # 2026-12-04 00:00:00 UTC is 08:00 in Asia/Shanghai.
    message = _message(created_ns=1_796_342_400 * 10**9)
    assert "时间：2026-12-04 08:00:00" in Renderer().render(message, "text").body
