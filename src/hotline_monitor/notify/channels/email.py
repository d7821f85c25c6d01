"""E-mail over SMTP (STARTTLS, implicit TLS or plain), with HTML and plain-text parts."""

from __future__ import annotations

import asyncio
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from hotline_monitor.errors import DeliveryRejected, DeliveryRetry
from hotline_monitor.notify.channels.base import Delivery
from hotline_monitor.notify.config import EmailChannel
from hotline_monitor.notify.masking import register_secret
from hotline_monitor.notify.render import Renderer

PROVIDER = "邮件服务器"


class Email:
    """Sends one e-mail per delivery; smtplib runs in a worker thread."""

    needs_address = True
    deduplicates = False

    def __init__(self, name: str, config: EmailChannel, renderer: Renderer) -> None:
        self.name = name
        self.config = config
        self.renderer = renderer
        register_secret(config.password)

    async def wait_turn(self) -> None:
        return None

    async def send(self, delivery: Delivery) -> str:
        if "@" not in delivery.address:
            raise DeliveryRejected(f"{PROVIDER}：收件地址 {delivery.address!r} 无效")
        message = self.build_message(delivery)
        return await asyncio.to_thread(self._submit, message)

    def build_message(self, delivery: Delivery) -> EmailMessage:
        plain = self.renderer.render(delivery.message, "text", delivery.resend)
        html = self.renderer.render(delivery.message, "html", delivery.resend)
        message = EmailMessage()
        message["Subject"] = plain.subject
        message["From"] = formataddr((self.config.from_name, self.config.from_address))
        message["To"] = delivery.address
        message["Message-ID"] = make_msgid(domain=self.config.from_address.split("@")[1])
        message.set_content(plain.body)
        message.add_alternative(html.body, subtype="html")
        return message

    def _submit(self, message: EmailMessage) -> str:
        config = self.config
        context = ssl.create_default_context(cafile=str(config.ca_bundle) if config.ca_bundle else None)
        stage = "connect"
        try:
            if config.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(config.host, config.port,
                                                      timeout=config.timeout, context=context)
            else:
                smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
            with smtp:
                smtp.ehlo()
                if config.security == "starttls":
                    smtp.starttls(context=context)
                    # RFC 3207: capabilities learnt before TLS are void, so send EHLO again.
                    smtp.ehlo()
                if config.username:
                    smtp.login(config.username, config.password or "")
                stage = "data"
                refused = smtp.send_message(message)
        except smtplib.SMTPAuthenticationError as err:
            raise DeliveryRejected(f"{PROVIDER}拒绝登录（{err.smtp_code}），请检查用户名和密码",
                                   operator_alert=True) from None
        except smtplib.SMTPRecipientsRefused as err:
            codes = ", ".join(str(code) for code, _ in err.recipients.values())
            raise DeliveryRejected(f"{PROVIDER}拒绝收件人 {message['To']}（{codes}）") from None
        except smtplib.SMTPResponseException as err:
            if 400 <= err.smtp_code < 500:
                raise DeliveryRetry(f"{PROVIDER}暂时拒绝（{err.smtp_code}），稍后重试") from None
            raise DeliveryRejected(f"{PROVIDER}拒绝邮件（{err.smtp_code}）") from None
        except ssl.SSLError as err:
            raise DeliveryRejected(f"{PROVIDER} TLS 握手失败（{err.reason}）",
                                   operator_alert=True) from None
        except (OSError, smtplib.SMTPException) as err:
            unknown = stage == "data" or isinstance(err, socket.timeout)
            raise DeliveryRetry(f"与{PROVIDER}通信失败（{type(err).__name__}）"
                                + ("，结果未知" if unknown else ""),
                                outcome_unknown=unknown) from None
        if refused:
            raise DeliveryRejected(f"{PROVIDER}拒绝收件人 {', '.join(refused)}")
        return f"{PROVIDER}已接收（{config.host}:{config.port}）"

    async def close(self) -> None:
        return None
