"""An aiosmtpd server on loopback with STARTTLS or implicit TLS and AUTH, for e-mail tests."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """Write a self-signed certificate for 127.0.0.1; return (cert file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    cert_file = folder / "smtp.crt"
    key_file = folder / "smtp.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class _Collector:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


class SmtpServer:
    """Context manager: a real SMTP server; `security` is "starttls" or "tls"."""

    def __init__(self, folder: Path, port: int, security: str, username: str,
                 password: str) -> None:
        self.cert_file, key_file = make_certificate(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, key_file)
        self.collector = _Collector()
        self.port = port

        def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
            valid = (isinstance(auth_data, LoginPassword)
                     and auth_data.login.decode() == username
                     and auth_data.password.decode() == password)
            # handled=False makes aiosmtpd reply 535 itself on a failure.
            return AuthResult(success=valid, handled=False)

        options = {"hostname": "127.0.0.1", "port": port, "authenticator": authenticate}
        if security == "tls":
            # aiosmtpd 1.4.6 counts only STARTTLS as TLS for auth_require_tls, so
            # implicit TLS must switch that check off to offer AUTH at all.
            self._controller = Controller(self.collector, ssl_context=context,
                                          auth_require_tls=False, **options)
        else:
            self._controller = Controller(self.collector, tls_context=context,
                                          require_starttls=True, auth_require_tls=True, **options)

    @property
    def messages(self) -> list[EmailMessage]:
        return self.collector.messages

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._controller.stop()
