"""Tencent Cloud SMS through the official SDK (tencentcloud-sdk-python-sms, API 2021-01-11).

Per-number results come in `SendStatusSet[].Code` ("Ok" on success, for
example LimitExceeded.PhoneNumberThirtySecondLimit otherwise); errors of the
whole request raise TencentCloudSDKException. SendSms is not idempotent, so a
call whose outcome is unknown is retried only marked 重发. The SDK is
synchronous and runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging

from hotline_monitor.errors import DeliveryRejected, DeliveryRetry
from hotline_monitor.notify.channels.base import Delivery
from hotline_monitor.notify.channels.sms_common import e164_number, template_values
from hotline_monitor.notify.config import SmsTencentChannel
from hotline_monitor.notify.masking import mask_text, register_secret
from hotline_monitor.notify.render import Renderer

log = logging.getLogger(__name__)

PROVIDER = "腾讯云短信"

RETRY_PREFIXES = ("LimitExceeded.", "RequestLimitExceeded", "InternalError",
                  "FailedOperation.FailResolvePacket", "ResourceUnavailable")
OPERATOR_PREFIXES = ("AuthFailure", "UnauthorizedOperation", "FailedOperation.InsufficientBalance",
                     "FailedOperation.SignatureIncorrectOrUnapproved",
                     "FailedOperation.TemplateIncorrectOrUnapproved")
NETWORK_CODES = ("ClientNetworkError", "ServerNetworkError")


class SmsTencent:
    """Sends one SMS per delivery through Tencent Cloud."""

    needs_address = True
    deduplicates = False

    def __init__(self, name: str, config: SmsTencentChannel, renderer: Renderer) -> None:
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.sms.v20210111 import sms_client

        self.name = name
        self.config = config
        self.renderer = renderer
        register_secret(config.secret_key)
        http_profile = HttpProfile(protocol=config.protocol, endpoint=config.endpoint,
                                   reqTimeout=int(max(1, config.timeout)))
        self._client = sms_client.SmsClient(
            credential.Credential(config.secret_id, config.secret_key), config.region,
            ClientProfile(httpProfile=http_profile))

    async def wait_turn(self) -> None:
        return None

    async def send(self, delivery: Delivery) -> str:
        from tencentcloud.sms.v20210111 import models

        request = models.SendSmsRequest()
        request.PhoneNumberSet = [e164_number(delivery.address, PROVIDER)]
        request.SmsSdkAppId = self.config.sdk_app_id
        request.SignName = self.config.sign_name
        request.TemplateId = self.config.templates.for_kind(delivery.message.kind)
        request.TemplateParamSet = template_values(self.renderer, delivery, self.config.params,
                                                   self.config.param_max_chars)
        request.SessionContext = str(delivery.id)

        statuses = await asyncio.to_thread(self._call, request)
        return self._read_status(statuses)

    def _call(self, request) -> list[dict]:
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
            TencentCloudSDKException,
        )

        try:
            response = self._client.SendSms(request)
        except TencentCloudSDKException as err:
            raise _request_failure(err) from None
        return [{"Code": item.Code, "Message": item.Message, "SerialNo": item.SerialNo}
                for item in (response.SendStatusSet or [])]

    def _read_status(self, statuses: list[dict]) -> str:
        if not statuses:
            raise DeliveryRetry(f"{PROVIDER}答复中没有发送结果，结果未知", outcome_unknown=True)
        status = statuses[0]
        code = str(status.get("Code") or "")
        message = str(status.get("Message") or "")[:200]
        if code == "Ok":
            return f"{PROVIDER}已接收（SerialNo {status.get('SerialNo', '')}）"
        if code.startswith(RETRY_PREFIXES):
            raise DeliveryRetry(f"{PROVIDER}暂时拒绝（{code}：{message}），稍后重试")
        raise DeliveryRejected(f"{PROVIDER}拒绝发送（{code}：{message}）",
                               operator_alert=code.startswith(OPERATOR_PREFIXES))

    async def close(self) -> None:
        return None


def _request_failure(err) -> DeliveryRetry | DeliveryRejected:
    code = str(err.get_code() or "")
    message = mask_text(str(err.get_message() or ""))[:200]
    if code in NETWORK_CODES:
        refused = "Connection refused" in message or "ConnectTimeout" in message
        return DeliveryRetry(f"{PROVIDER}网络错误（{code}）" + ("" if refused else "，结果未知"),
                             outcome_unknown=not refused)
    if code.startswith(RETRY_PREFIXES):
        return DeliveryRetry(f"{PROVIDER}暂时拒绝（{code}：{message}），稍后重试")
    return DeliveryRejected(f"{PROVIDER}拒绝请求（{code}：{message}）",
                            operator_alert=code.startswith(OPERATOR_PREFIXES))
