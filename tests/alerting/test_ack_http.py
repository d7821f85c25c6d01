"""Acknowledgement links over real HTTP on loopback: valid, tampered, expired."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import httpx
from alerting.helpers import FakeClock, make_config, make_engine, ups

from hotline_monitor.alerting.ack_server import AckServer
from hotline_monitor.alerting.links import ack_link

SECRET = "0123456789abcdef0123"


def fired_engine(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path), clock)
    engine.observe([ups(clock, output_source=5.0)])
    return clock, engine


async def serve_and_request(engine, now_s, requests):
    server = AckServer(engine.store, SECRET, clock=lambda: now_s)
    port = await server.start("127.0.0.1", 0)
    responses = []
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5.0,
                                     trust_env=False) as client:
            for method, path, data in requests:
                responses.append(await client.request(method, path, data=data))
    finally:
        await server.close()
    return responses


def link_query(expires_s, group_id=1):
    url = urlsplit(ack_link("https://m.example.org", SECRET, group_id, expires_s))
    return url.path + "?" + url.query, {k: v[0] for k, v in parse_qs(url.query).items()}


def test_valid_link_shows_page_then_acknowledges(tmp_path):
    clock, engine = fired_engine(tmp_path)
    now_s = clock.now_ns / 1e9
    path, fields = link_query(int(now_s) + 3600)

    page, done = asyncio.run(serve_and_request(engine, now_s, [
        ("GET", path, None),
        ("POST", "/ack", {**fields, "by": "张三"}),
    ]))

    assert page.status_code == 200
    assert "确认告警 #1" in page.text
    assert "市电中断" in page.text
    assert 'name="viewport"' in page.text
    assert engine.store.group(1).acked_by == "张三"
    assert done.status_code == 200
    assert "告警 #1 已确认" in done.text


def test_get_alone_does_not_acknowledge(tmp_path):
    clock, engine = fired_engine(tmp_path)
    now_s = clock.now_ns / 1e9
    path, _ = link_query(int(now_s) + 3600)
    asyncio.run(serve_and_request(engine, now_s, [("GET", path, None)]))
    assert engine.store.group(1).acked_ns is None


def test_tampered_signature_rejected(tmp_path):
    clock, engine = fired_engine(tmp_path)
    now_s = clock.now_ns / 1e9
    _, fields = link_query(int(now_s) + 3600)
    tampered = {**fields, "id": "2"}

    get, post = asyncio.run(serve_and_request(engine, now_s, [
        ("GET", f"/ack?id=2&exp={fields['exp']}&sig={fields['sig']}", None),
        ("POST", "/ack", {**tampered, "by": "x"}),
    ]))
    assert get.status_code == 403
    assert "链接签名无效" in get.text
    assert post.status_code == 403
    assert engine.store.group(1).acked_ns is None


def test_expired_link_rejected(tmp_path):
    clock, engine = fired_engine(tmp_path)
    now_s = clock.now_ns / 1e9
    path, fields = link_query(int(now_s) - 1)
    get, post = asyncio.run(serve_and_request(engine, now_s, [
        ("GET", path, None),
        ("POST", "/ack", {**fields, "by": "x"}),
    ]))
    assert get.status_code == 403
    assert "链接已过期" in get.text
    assert post.status_code == 403
    assert engine.store.group(1).acked_ns is None


def test_missing_fields_and_unknown_path(tmp_path):
    clock, engine = fired_engine(tmp_path)
    now_s = clock.now_ns / 1e9
    missing, unknown = asyncio.run(serve_and_request(engine, now_s, [
        ("GET", "/ack?id=1", None),
        ("GET", "/other", None),
    ]))
    assert missing.status_code == 403
    assert unknown.status_code == 404


def test_ack_secret_from_file_and_length(tmp_path):
    from hotline_monitor.errors import ConfigError
    import pytest

    (tmp_path / "ack.key").write_text("short\n", encoding="utf-8")
    extra = """
    alerting:
      ack_listen: 127.0.0.1:8765
      ack_secret_file: ack.key
    """
    with pytest.raises(ConfigError, match="ack_secret 至少 16 个字符"):
        make_config(tmp_path, extra)

    (tmp_path / "ack.key").write_text(SECRET + "\n", encoding="utf-8")
    assert make_config(tmp_path, extra).alerting.ack_secret == SECRET


def test_garbage_request_gets_400(tmp_path):
    clock, engine = fired_engine(tmp_path)

    async def scenario():
        server = AckServer(engine.store, SECRET, clock=lambda: clock.now_ns / 1e9)
        port = await server.start("127.0.0.1", 0)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"NONSENSE\r\n\r\n")
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 5.0)
            writer.close()
        finally:
            await server.close()
        return answer

    answer = asyncio.run(scenario())
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert "请求格式无效".encode() in answer
