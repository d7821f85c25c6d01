"""A generic HTTP SMS gateway: URL, method, headers and a Jinja2 body from the configuration."""

from __future__ import annotations

import httpx

from hotline_monitor.errors import DeliveryRejected, DeliveryRetry
from hotline_monitor.notify.channels.base import Delivery
from hotline_monitor.notify.channels.http_errors import retry_for_transport_error
from hotline_monitor.notify.config import SmsHttpChannel
from hotline_monitor.notify.masking import mask_text, register_secret
from hotline_monitor.notify.render import Renderer, truncate_chars

PROVIDER = "短信网关"


class SmsHttp:
    """Posts one rendered request per delivery; 2xx (and the expected text) means accepted."""

    needs_address = True
    deduplicates = False

    def __init__(self, name: str, config: SmsHttpChannel, renderer: Renderer) -> None:
        self.name = name
        self.config = config
        self.renderer = renderer
        for header, value in config.headers.items():
            if header.lower() in ("authorization", "x-api-key", "apikey", "token"):
                register_secret(value.split()[-1] if value else value)
        self._client = httpx.AsyncClient(timeout=config.timeout, trust_env=False)

    async def wait_turn(self) -> None:
        return None

    async def send(self, delivery: Delivery) -> str:
        if not delivery.address:
            raise DeliveryRejected(f"{PROVIDER}缺少手机号码")
        body = self.build_body(delivery)
        try:
            response = await self._client.request(self.config.method, self.config.url,
                                                  headers=self.config.headers,
                                                  content=body.encode("utf-8"))
        except httpx.HTTPError as err:
            raise retry_for_transport_error(PROVIDER, err) from None

        reply = mask_text(response.text[:200])
        if response.status_code >= 500 or response.status_code == 429:
            raise DeliveryRetry(f"{PROVIDER}返回 HTTP {response.status_code}：{reply}",
                                outcome_unknown=response.status_code != 429)
        if response.status_code not in self.config.success_status:
            raise DeliveryRejected(f"{PROVIDER}拒绝发送（HTTP {response.status_code}：{reply}）")
        if self.config.success_contains and self.config.success_contains not in response.text:
            raise DeliveryRejected(f"{PROVIDER}答复中没有成功标志（HTTP {response.status_code}：{reply}）")
        return f"{PROVIDER}已接收（HTTP {response.status_code}：{reply}）"

    def build_body(self, delivery: Delivery) -> str:
        rendered = self.renderer.render(delivery.message, "text", delivery.resend)
        variables = self.renderer.context(delivery.message, delivery.resend)
        variables["phone"] = delivery.address
        variables["text"] = truncate_chars(rendered.body, self.config.max_chars)
        return self.renderer.render_string(self.config.body_template, variables)

    async def close(self) -> None:
        await self._client.aclose()
