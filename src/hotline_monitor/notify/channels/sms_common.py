"""Helpers the SMS channels share: template parameters and phone numbers."""

from __future__ import annotations

import re

from hotline_monitor.errors import DeliveryRejected
from hotline_monitor.notify.channels.base import Delivery
from hotline_monitor.notify.render import Renderer, truncate_chars

_CHINA_MOBILE = re.compile(r"^1\d{10}$")
_E164 = re.compile(r"^\+\d{6,15}$")


def template_values(renderer: Renderer, delivery: Delivery, expressions: list[str],
                    max_chars: int) -> list[str]:
    """Render each parameter expression and cut it to the provider's length limit."""
    variables = renderer.context(delivery.message, delivery.resend)
    values = []
    for expression in expressions:
        value = " ".join(renderer.render_string(expression, variables).split())
        values.append(truncate_chars(value, max_chars))
    return values


def e164_number(address: str, provider: str) -> str:
    """Return a phone number as +<country><number>; a bare 11-digit number is Chinese."""
    number = address.replace(" ", "").replace("-", "")
    if _CHINA_MOBILE.match(number):
        return "+86" + number
    if _E164.match(number):
        return number
    raise DeliveryRejected(f"{provider}：手机号码 {address!r} 格式无效")
