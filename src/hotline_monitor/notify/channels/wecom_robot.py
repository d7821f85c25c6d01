"""WeCom group robot (群机器人): text or markdown posted to the robot's webhook.

API: POST {base_url}/cgi-bin/webhook/send?key=KEY with a JSON body. Every
reply is HTTP 200 and the result is in `errcode`: 0 success, 45009 rate limit
(20 messages a minute per robot), 93000 invalid webhook key, 40058 content too
long. Content limits are in bytes of UTF-8: 2,048 for text, 4,096 for markdown.
"""

from __future__ import annotations

import logging
import re

import httpx

from hotline_monitor.errors import DeliveryRejected, DeliveryRetry
from hotline_monitor.notify.channels.base import Delivery
from hotline_monitor.notify.channels.http_errors import retry_for_status, retry_for_transport_error
from hotline_monitor.notify.channels.ratelimit import SlidingWindowLimiter
from hotline_monitor.notify.config import WecomRobotChannel
from hotline_monitor.notify.masking import mask_url, register_secret
from hotline_monitor.notify.render import Renderer, truncate_utf8

log = logging.getLogger(__name__)

TEXT_MAX_BYTES = 2048
MARKDOWN_MAX_BYTES = 4096
PROVIDER = "企业微信群机器人"
_MOBILE = re.compile(r"^\+?\d{6,15}$")

ERRCODE_BUSY = -1
ERRCODE_RATE_LIMIT = 45009
ERRCODE_INVALID_KEY = 93000
ERRCODE_TOO_LONG = 40058


class WecomRobot:
    """Posts to one WeCom group robot, queuing to stay within its rate limit."""

    needs_address = False
    deduplicates = False

    def __init__(self, name: str, config: WecomRobotChannel, renderer: Renderer) -> None:
        self.name = name
        self.config = config
        self.renderer = renderer
        register_secret(config.key)
        self.url = f"{config.base_url.rstrip('/')}/cgi-bin/webhook/send"
        self.limiter = SlidingWindowLimiter(config.rate_limit, config.rate_window)
        self._client = httpx.AsyncClient(timeout=config.timeout, trust_env=False)

    async def wait_turn(self) -> None:
        await self.limiter.acquire()

    async def send(self, delivery: Delivery) -> str:
        body = self.build_body(delivery)
        try:
            response = await self._client.post(self.url, params={"key": self.config.key},
                                               json=body)
        except httpx.HTTPError as err:
            raise retry_for_transport_error(PROVIDER, err) from None
        if response.status_code != 200:
            raise retry_for_status(PROVIDER, response)

        return self._read_answer(response)

    def build_body(self, delivery: Delivery) -> dict:
        """Return the JSON body for the robot API, within its byte limits."""
        message = delivery.message
        if self.config.format == "markdown":
            userids = [mention for mention in delivery.mentions if not _MOBILE.match(mention)]
            rendered = self.renderer.render(message, "markdown", delivery.resend, userids)
            content = truncate_utf8(rendered.body, MARKDOWN_MAX_BYTES)
            return {"msgtype": "markdown", "markdown": {"content": content}}

        rendered = self.renderer.render(message, "text", delivery.resend)
        text: dict = {"content": truncate_utf8(rendered.body, TEXT_MAX_BYTES)}
        mobiles = [mention for mention in delivery.mentions if _MOBILE.match(mention)]
        userids = [mention for mention in delivery.mentions if not _MOBILE.match(mention)]
        if userids:
            text["mentioned_list"] = userids
        if mobiles:
            text["mentioned_mobile_list"] = mobiles
        return {"msgtype": "text", "text": text}

    def _read_answer(self, response: httpx.Response) -> str:
        try:
            answer = response.json()
            errcode = int(answer["errcode"])
        except (ValueError, KeyError, TypeError):
            raise DeliveryRetry(f"{PROVIDER}返回了无法解析的答复", outcome_unknown=True) from None
        errmsg = str(answer.get("errmsg", ""))[:200]

        if errcode == 0:
            return f"{PROVIDER}已接收（errcode 0，{errmsg}）"
        if errcode == ERRCODE_RATE_LIMIT:
            # The robot counts per minute; wait for the window to pass before the next post.
            self.limiter.push_back(self.config.rate_window)
            raise DeliveryRetry(f"{PROVIDER}限流（errcode 45009），稍后重试",
                                retry_after=self.config.rate_window)
        if errcode == ERRCODE_INVALID_KEY:
            log.error("WeCom robot %s rejected its webhook key (errcode 93000) at %s",
                      self.name, mask_url(str(response.request.url)))
            raise DeliveryRejected(f"{PROVIDER}的 webhook key 无效（errcode 93000），请更换 key",
                                   operator_alert=True)
        if errcode == ERRCODE_TOO_LONG:
            raise DeliveryRejected(f"{PROVIDER}认为内容过长（errcode 40058）")
        if errcode == ERRCODE_BUSY:
            raise DeliveryRetry(f"{PROVIDER}系统繁忙（errcode -1），稍后重试")
        raise DeliveryRejected(f"{PROVIDER}拒绝了消息（errcode {errcode}，{errmsg}）")

    async def close(self) -> None:
        await self._client.aclose()
