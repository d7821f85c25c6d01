"""WeCom application messages (应用消息) to named users.

API: GET {base_url}/cgi-bin/gettoken?corpid=…&corpsecret=… returns an
access_token valid `expires_in` seconds (7,200); POST
{base_url}/cgi-bin/message/send?access_token=… sends. errcode 42001 (token
expired) or 40014 (token invalid): fetch a new token and send once more.
`enable_duplicate_check` makes WeCom drop an identical message sent again
within `duplicate_check_interval` seconds, which covers our own resends.
"""

from __future__ import annotations

import asyncio
import logging
import time

import httpx

from hotline_monitor.errors import DeliveryRejected, DeliveryRetry
from hotline_monitor.notify.channels.base import Delivery
from hotline_monitor.notify.channels.http_errors import retry_for_status, retry_for_transport_error
from hotline_monitor.notify.config import WecomAppChannel
from hotline_monitor.notify.masking import register_secret
from hotline_monitor.notify.render import Renderer, truncate_utf8

log = logging.getLogger(__name__)

PROVIDER = "企业微信应用消息"
TEXT_MAX_BYTES = 2048
MARKDOWN_MAX_BYTES = 2048
TOKEN_MARGIN_S = 300.0
"""Renew the token this long before the expiry WeCom reported, to absorb clock drift."""

ERRCODE_BUSY = -1
ERRCODE_INVALID_SECRET = 40001
ERRCODE_INVALID_TOKEN = 40014
ERRCODE_EXPIRED_TOKEN = 42001
ERRCODE_RATE_LIMIT = 45009
ERRCODE_INVALID_CORPID = 40013
TOKEN_ERRCODES = (ERRCODE_INVALID_TOKEN, ERRCODE_EXPIRED_TOKEN)


class WecomApp:
    """Sends application messages; caches the access token for its lifetime."""

    needs_address = True
    deduplicates = True

    def __init__(self, name: str, config: WecomAppChannel, renderer: Renderer) -> None:
        self.name = name
        self.config = config
        self.renderer = renderer
        register_secret(config.corpsecret)
        self.base = config.base_url.rstrip("/")
        self._client = httpx.AsyncClient(timeout=config.timeout, trust_env=False)
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    async def wait_turn(self) -> None:
        return None

    async def send(self, delivery: Delivery) -> str:
        if not delivery.address:
            raise DeliveryRejected(f"{PROVIDER}缺少接收人（企业微信 userid）")
        body = self.build_body(delivery)

        token = await self._access_token()
        answer = await self._post_message(token, body)
        if answer.get("errcode") in TOKEN_ERRCODES:
            log.info("WeCom app %s: access token rejected (errcode %s); fetching a new one",
                     self.name, answer.get("errcode"))
            token = await self._access_token(stale=token)
            answer = await self._post_message(token, body)

        return self._read_answer(answer)

    def build_body(self, delivery: Delivery) -> dict:
        """Return the JSON body of message/send for this delivery."""
        # With duplicate check on, a resend must keep the first copy's text, so
        # that WeCom recognises it; it is never marked 重发 for this channel.
        if self.config.format == "markdown":
            rendered = self.renderer.render(delivery.message, "markdown")
            payload = {"content": truncate_utf8(rendered.body, MARKDOWN_MAX_BYTES)}
        else:
            rendered = self.renderer.render(delivery.message, "text")
            payload = {"content": truncate_utf8(rendered.body, TEXT_MAX_BYTES)}
        return {
            "touser": delivery.address,
            "msgtype": self.config.format,
            "agentid": self.config.agentid,
            self.config.format: payload,
            "enable_duplicate_check": 1,
            "duplicate_check_interval": self.config.duplicate_check_interval,
        }

    async def _access_token(self, stale: str | None = None) -> str:
        async with self._token_lock:
            # Another send may have renewed the token while this one waited.
            fresh = self._token is not None and self._token != stale
            if fresh and time.monotonic() < self._token_expires:
                return self._token
            answer = await self._get_json(
                f"{self.base}/cgi-bin/gettoken",
                {"corpid": self.config.corpid, "corpsecret": self.config.corpsecret})
            errcode = answer.get("errcode", 0)
            if errcode in (ERRCODE_INVALID_SECRET, ERRCODE_INVALID_CORPID):
                raise DeliveryRejected(
                    f"{PROVIDER}获取 access_token 失败：corpid 或 corpsecret 无效（errcode {errcode}）",
                    operator_alert=True)
            if errcode != 0 or not answer.get("access_token"):
                raise DeliveryRetry(f"{PROVIDER}获取 access_token 失败（errcode {errcode}）")

            self._token = str(answer["access_token"])
            register_secret(self._token)
            lifetime = float(answer.get("expires_in", 7200))
            self._token_expires = time.monotonic() + max(lifetime - TOKEN_MARGIN_S, lifetime / 2)
            return self._token

    async def _post_message(self, token: str, body: dict) -> dict:
        try:
            response = await self._client.post(f"{self.base}/cgi-bin/message/send",
                                               params={"access_token": token}, json=body)
        except httpx.HTTPError as err:
            raise retry_for_transport_error(PROVIDER, err) from None
        if response.status_code != 200:
            raise retry_for_status(PROVIDER, response)
        return _json_object(response)

    async def _get_json(self, url: str, params: dict) -> dict:
        try:
            response = await self._client.get(url, params=params)
        except httpx.HTTPError as err:
            # gettoken sends nothing to anybody, so its outcome never matters.
            raise DeliveryRetry(f"无法获取{PROVIDER}的 access_token（{type(err).__name__}）") from None
        if response.status_code != 200:
            raise DeliveryRetry(f"获取 access_token 时{PROVIDER}返回 HTTP {response.status_code}")
        return _json_object(response)

    def _read_answer(self, answer: dict) -> str:
        errcode = answer.get("errcode")
        errmsg = str(answer.get("errmsg", ""))[:200]
        if errcode == 0:
            invalid = answer.get("invaliduser") or ""
            if invalid:
                raise DeliveryRejected(f"{PROVIDER}：接收人 {invalid} 无效或不在应用可见范围内")
            return f"{PROVIDER}已接收（errcode 0，msgid {answer.get('msgid', '')}）"
        if errcode in (ERRCODE_RATE_LIMIT, ERRCODE_BUSY):
            raise DeliveryRetry(f"{PROVIDER}限流或繁忙（errcode {errcode}），稍后重试")
        if errcode in TOKEN_ERRCODES:
            raise DeliveryRetry(f"{PROVIDER}换新 access_token 后仍被拒绝（errcode {errcode}）")
        raise DeliveryRejected(f"{PROVIDER}拒绝了消息（errcode {errcode}，{errmsg}）")

    async def close(self) -> None:
        await self._client.aclose()


def _json_object(response: httpx.Response) -> dict:
    try:
        answer = response.json()
    except ValueError:
        raise DeliveryRetry(f"{PROVIDER}返回了无法解析的答复", outcome_unknown=True) from None
    if not isinstance(answer, dict):
        raise DeliveryRetry(f"{PROVIDER}返回了无法解析的答复", outcome_unknown=True)
    return answer
