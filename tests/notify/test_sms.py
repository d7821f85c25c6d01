"""Alibaba Cloud and Tencent Cloud SMS through their SDKs, and the generic HTTP gateway."""

from __future__ import annotations

import json
import time

import pytest
from mocks.aliyun import AliyunSmsMock
from mocks.base import MockServer, Reply, json_reply
from mocks.tencent import TencentSmsMock

from hotline_monitor.notify.message import Recipient
from notify.conftest import alert, deliver, make_config

pytest.importorskip("alibabacloud_dysmsapi20170525")
pytest.importorskip("tencentcloud.sms")

ALI_SECRET = "ali-secret-9d3f0a"
TC_SECRET = "tc-secret-4e81bb"
PHONE = "13800000001"


def _aliyun(mock: AliyunSmsMock, secret: str = ALI_SECRET, **extra: str) -> str:
    lines = [f"  {name}: {value}" for name, value in extra.items()]
    return "\n".join([
        "ali:", "  type: sms_aliyun", "  access_key_id: LTAI-test", f"  access_key_secret: {secret}",
        "  sign_name: 热线监测", "  templates: {default: SMS_100, recovery: SMS_200}",
        f"  endpoint: 127.0.0.1:{mock.port}", "  protocol: http", "  timeout: 2s", *lines]) + "\n"


def _tencent(mock: TencentSmsMock, secret: str = TC_SECRET, **extra: str) -> str:
    extra.setdefault("timeout", "2s")
    lines = [f"  {name}: {value}" for name, value in extra.items()]
    return "\n".join([
        "tc:", "  type: sms_tencent", "  secret_id: AKID-test", f"  secret_key: {secret}",
        "  sdk_app_id: '1400000001'", "  sign_name: 热线监测", "  templates: {default: '1001'}",
        f"  endpoint: 127.0.0.1:{mock.port}", "  protocol: http", *lines]) + "\n"


def _aliyun_mock(**options) -> AliyunSmsMock:
    return AliyunSmsMock("LTAI-test", ALI_SECRET, "热线监测", {"SMS_100", "SMS_200"}, **options)


def _tencent_mock(**options) -> TencentSmsMock:
    return TencentSmsMock("AKID-test", TC_SECRET, "1400000001", "热线监测", {"1001"}, **options)


def test_aliyun_sends_with_valid_signature(tmp_path, run) -> None:
    with _aliyun_mock() as mock:
        config = make_config(tmp_path, _aliyun(mock))
        rows = run(deliver(config, [alert("a1", Recipient("ali", PHONE))]))

    assert rows[0].state == "sent"
    assert mock.signature_failures == 0
    assert mock.sent == [{"number": PHONE, "template": "SMS_100",
                          "params": {"level": "严重", "title": "主机房 UPS 转为电池供电"},
                          "out_id": str(rows[0].id)}]


def test_aliyun_template_per_kind_and_param_limit(tmp_path, run) -> None:
    """The recovery template is used, and a 40-character title is cut to 35 characters."""
    with _aliyun_mock() as mock:
        config = make_config(tmp_path, _aliyun(mock))
        run(deliver(config, [alert("r1", Recipient("ali", PHONE), kind="recovery",
                                   title="甲" * 40)]))

    assert mock.sent[0]["template"] == "SMS_200"
    assert mock.sent[0]["params"]["title"] == "甲" * 34 + "…"


def test_aliyun_wrong_secret_fails_signature(tmp_path, run) -> None:
    with _aliyun_mock() as mock:
        config = make_config(tmp_path, _aliyun(mock, secret="wrong-secret-000"))
        rows = run(deliver(config, [alert("a1", Recipient("ali", PHONE))]))

    assert mock.signature_failures == 1
    assert rows[0].state == "failed"
    assert "SignatureDoesNotMatch" in rows[0].last_error
    assert "wrong-secret-000" not in rows[0].last_error


def test_aliyun_business_limit_retries_then_falls_back(tmp_path, run) -> None:
    """isv.BUSINESS_LIMIT_CONTROL (HTTP 200) is retried until the deadline, then Tencent sends."""
    with _aliyun_mock(per_number_per_minute=0) as ali, _tencent_mock() as tc:
        channels = _aliyun(ali, fallback="tc") + _tencent(tc)
        notify = "notify:\n  retry_initial: 100ms\n  retry_max: 200ms\n  deadlines: {critical: 1s}\n"
        config = make_config(tmp_path, channels, notify)
        rows = run(deliver(config, [alert("a1", Recipient("ali", PHONE))]))

    assert [(row.channel, row.state) for row in rows] == [("ali", "failed"), ("tc", "sent")]
    assert rows[0].attempts >= 3
    assert "isv.BUSINESS_LIMIT_CONTROL" in rows[0].last_error
    assert rows[0].resend is False
    assert tc.sent[0]["number"] == "+86" + PHONE


def test_aliyun_500_then_resend(tmp_path, run) -> None:
    with _aliyun_mock() as mock:
        mock.script.append(("status", 500))
        config = make_config(tmp_path, _aliyun(mock))
        rows = run(deliver(config, [alert("a1", Recipient("ali", PHONE))]))

    assert rows[0].state == "sent"
    assert rows[0].resend
    assert mock.sent[0]["params"]["title"].startswith("【重发】")


def test_tencent_sends_with_valid_signature(tmp_path, run) -> None:
    with _tencent_mock() as mock:
        config = make_config(tmp_path, _tencent(mock))
        rows = run(deliver(config, [alert("a1", Recipient("tc", PHONE), drill=True)]))

    assert rows[0].state == "sent"
    assert mock.signature_failures == 0
    # Parameters are cut to 12 characters (11 kept and …); a drill starts with 【演练】.
    assert mock.sent[0]["params"] == ["严重", "【演练】主机房 UPS…"]
    assert mock.sent[0]["number"] == "+8613800000001"


def test_tencent_wrong_secret_is_rejected(tmp_path, run) -> None:
    with _tencent_mock() as mock:
        config = make_config(tmp_path, _tencent(mock, secret="wrong-secret-111"))
        rows = run(deliver(config, [alert("a1", Recipient("tc", PHONE))]))

    assert mock.signature_failures == 1
    assert rows[0].state == "failed"
    assert "AuthFailure.SignatureFailure" in rows[0].last_error


def test_tencent_number_limit_is_retried(tmp_path, run) -> None:
    with _tencent_mock() as mock:
        mock.script.append(("status_code", "LimitExceeded.PhoneNumberThirtySecondLimit"))
        config = make_config(tmp_path, _tencent(mock))
        rows = run(deliver(config, [alert("a1", Recipient("tc", PHONE))]))

    assert rows[0].state == "sent"
    assert rows[0].attempts == 2
    assert not rows[0].resend


def test_tencent_bad_number_is_rejected(tmp_path, run) -> None:
    with _tencent_mock() as mock:
        config = make_config(tmp_path, _tencent(mock))
        rows = run(deliver(config, [alert("a1", Recipient("tc", "12345"))]))

    assert rows[0].state == "failed"
    assert "格式无效" in rows[0].last_error
    assert mock.requests == []


class _Gateway(MockServer):
    """A carrier gateway: bearer token, JSON body, replies {"result": "ok"}."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[dict] = []

    def handle(self, method, path, query, headers, raw_query, body) -> Reply:
        if headers.get("authorization") != "Bearer gw-token-77aa":
            return json_reply({"result": "denied"}, status=401)
        self.received.append(json.loads(body))
        return json_reply({"result": "ok"})


def _gateway(mock: _Gateway, token: str = "gw-token-77aa") -> str:
    return "\n".join([
        "gw:", "  type: sms_http", f"  url: {mock.base_url}/sms/send",
        f"  headers: {{Authorization: 'Bearer {token}', Content-Type: application/json}}",
        "  body_template: '{\"mobile\": {{ phone | tojson }}, \"content\": {{ text | tojson }}}'",
        "  success_contains: '\"ok\"'"]) + "\n"


def test_http_gateway_renders_body(tmp_path, run) -> None:
    with _Gateway() as mock:
        config = make_config(tmp_path, _gateway(mock))
        rows = run(deliver(config, [alert("a1", Recipient("gw", PHONE), title='UPS "A"')]))

    assert rows[0].state == "sent"
    assert mock.received[0]["mobile"] == PHONE
    assert mock.received[0]["content"].startswith('【严重】UPS "A"\n市电中断')


def test_http_gateway_500_then_sent(tmp_path, run) -> None:
    with _Gateway() as mock:
        mock.script.append(("status", 500))
        config = make_config(tmp_path, _gateway(mock))
        rows = run(deliver(config, [alert("a1", Recipient("gw", PHONE))]))

    assert rows[0].state == "sent"
    assert mock.received[0]["content"].startswith("【重发】")


def test_http_gateway_401_is_rejected(tmp_path, run) -> None:
    with _Gateway() as mock:
        config = make_config(tmp_path, _gateway(mock, token="bad-token-000"))
        rows = run(deliver(config, [alert("a1", Recipient("gw", PHONE))]))

    assert rows[0].state == "failed"
    assert "HTTP 401" in rows[0].last_error
    assert "bad-token-000" not in rows[0].last_error


def test_aliyun_unknown_access_key_alerts_operator(tmp_path, run) -> None:
    """InvalidAccessKeyId.NotFound (HTTP 404) is permanent and reported to the operator."""
    with AliyunSmsMock("LTAI-other", ALI_SECRET, "热线监测", {"SMS_100"}) as mock:
        channels = _aliyun(mock) + "desk:\n  type: console\n"
        notify = "notify:\n  operator: [{channel: desk}]\n"
        config = make_config(tmp_path, channels, notify)
        rows = run(deliver(config, [alert("a1", Recipient("ali", PHONE))]))

    assert [(row.channel, row.state) for row in rows] == [("ali", "failed"), ("desk", "sent")]
    assert "InvalidAccessKeyId.NotFound" in rows[0].last_error
    assert mock.sent == []


def test_tencent_timeout_is_resent_marked(tmp_path, run) -> None:
    """A SendSms call that timed out may have been sent, so the retry is marked 重发."""
    with _tencent_mock(per_number_per_30s=5) as mock:
        mock.script.append(("delay", 1.5))
        config = make_config(tmp_path, _tencent(mock, timeout="1s"))
        rows = run(deliver(config, [alert("a1", Recipient("tc", PHONE))]))
        # The first, slow request is still being handled after the retry returned.
        deadline = time.monotonic() + 3
        while len(mock.sent) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)

    assert rows[0].state == "sent"
    assert rows[0].resend
    params = sorted(entry["params"][1] for entry in mock.sent)
    assert len(params) == 2
    assert params[0].startswith("【重发】")
    assert not params[1].startswith("【重发】")
