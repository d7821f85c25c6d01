"""Alibaba Cloud SMS through the official SDK (alibabacloud_dysmsapi20170525).

SendSms replies HTTP 200 with `Code` "OK" on success. Business failures also
come with HTTP 200 but another `Code`, for example isv.BUSINESS_LIMIT_CONTROL
(the per-number minute/hour/day limit). SendSms is not idempotent, so a call
whose outcome is unknown is retried only marked 重发. The SDK is synchronous
and runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import logging

from hotline_monitor.errors import DeliveryRejected, DeliveryRetry
from hotline_monitor.notify.channels.base import Delivery
from hotline_monitor.notify.channels.sms_common import e164_number, template_values
from hotline_monitor.notify.config import SmsAliyunChannel
from hotline_monitor.notify.masking import mask_text, register_secret
from hotline_monitor.notify.render import Renderer

log = logging.getLogger(__name__)

PROVIDER = "阿里云短信"

# Codes after which the same request may succeed later.
RETRY_CODES = {"isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "SignatureNonceUsed",
               "Throttling.User", "Throttling", "ServiceUnavailable", "InternalError",
               "isp.SYSTEM_ERROR"}
# Codes that mean the channel itself is misconfigured: the operator must act.
OPERATOR_CODES = {"InvalidAccessKeyId.NotFound", "SignatureDoesNotMatch",
                  "isv.SMS_SIGNATURE_ILLEGAL", "isv.SMS_TEMPLATE_ILLEGAL",
                  "isv.AMOUNT_NOT_ENOUGH", "isv.OUT_OF_SERVICE", "Forbidden.RAM",
                  "isp.RAM_PERMISSION_DENY"}


class SmsAliyun:
    """Sends one SMS per delivery through Alibaba Cloud."""

    needs_address = True
    deduplicates = False

    def __init__(self, name: str, config: SmsAliyunChannel, renderer: Renderer) -> None:
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi.utils_models import Config

        self.name = name
        self.config = config
        self.renderer = renderer
        register_secret(config.access_key_secret)
        timeout_ms = int(config.timeout * 1000)
        self._client = Client(Config(
            access_key_id=config.access_key_id, access_key_secret=config.access_key_secret,
            endpoint=config.endpoint, protocol=config.protocol,
            read_timeout=timeout_ms, connect_timeout=timeout_ms))

    async def wait_turn(self) -> None:
        return None

    async def send(self, delivery: Delivery) -> str:
        from alibabacloud_dysmsapi20170525.models import SendSmsRequest

        # Alibaba takes mainland numbers without +86.
        number = e164_number(delivery.address, PROVIDER).removeprefix("+86")
        names = list(self.config.params)
        values = template_values(self.renderer, delivery, list(self.config.params.values()),
                                 self.config.param_max_chars)
        request = SendSmsRequest(
            phone_numbers=number, sign_name=self.config.sign_name,
            template_code=self.config.templates.for_kind(delivery.message.kind),
            template_param=json.dumps(dict(zip(names, values, strict=True)), ensure_ascii=False),
            out_id=str(delivery.id))

        body = await asyncio.to_thread(self._call, request)
        return self._read_answer(body)

    def _call(self, request) -> dict:
        from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
        from darabonba.runtime import RuntimeOptions

        try:
            response = self._client.send_sms_with_options(request, RuntimeOptions())
        except AlibabaCloudException as err:
            return {"Code": str(getattr(err, "code", "") or "Unknown"),
                    "Message": mask_text(str(getattr(err, "message", "")))[:200],
                    "_status": getattr(err, "status_code", None)}
        except Exception as err:  # noqa: BLE001 - the SDK wraps transport errors in many types
            raise _transport_failure(err) from None
        return response.body.to_map()

    def _read_answer(self, body: dict) -> str:
        code = str(body.get("Code", ""))
        message = str(body.get("Message", ""))[:200]
        if code == "OK":
            return f"{PROVIDER}已接收（BizId {body.get('BizId', '')}）"
        status = body.get("_status")
        if code in RETRY_CODES or (isinstance(status, int) and status >= 500):
            raise DeliveryRetry(f"{PROVIDER}暂时拒绝（{code}：{message}），稍后重试",
                                outcome_unknown=isinstance(status, int) and status >= 500)
        raise DeliveryRejected(f"{PROVIDER}拒绝发送（{code}：{message}）",
                               operator_alert=code in OPERATOR_CODES)

    async def close(self) -> None:
        return None


def _transport_failure(err: Exception) -> DeliveryRetry:
    text = f"{type(err).__name__}: {err}"
    # Only a refused or timed-out connection proves the request never arrived.
    if "Connection refused" in text or "ConnectTimeout" in text or "NewConnectionError" in text:
        return DeliveryRetry(f"无法连接{PROVIDER}（{type(err).__name__}）")
    return DeliveryRetry(f"{PROVIDER}请求失败，结果未知（{type(err).__name__}）",
                         outcome_unknown=True)
