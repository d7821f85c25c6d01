"""Mock of Alibaba Cloud SMS SendSms (API 2017-05-25) with signature checking.

The SDK (alibabacloud_dysmsapi20170525 4.x on tea-openapi 0.4) signs with the
V3 scheme ACS3-HMAC-SHA256, as Alibaba Cloud documents it ("V3 版本请求体&签名
机制"): canonical request = method, path, canonical query (RFC 3986 encoded,
sorted by key), canonical headers (lower-case name:trimmed value for each
signed header), signed header names, hex SHA-256 of the body; string to sign
= "ACS3-HMAC-SHA256\\n" + hex SHA-256 of the canonical request; signature =
hex HMAC-SHA256 with the AccessKey secret. The mock recomputes it.

Business failures come with HTTP 200 and a `Code` other than "OK".
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import json
import re
import secrets
import time
import urllib.parse

from mocks.base import MockServer, Reply, json_reply

ALGORITHM = "ACS3-HMAC-SHA256"
_AUTHORIZATION = re.compile(
    r"^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]+)$")


def _encode(value: str) -> str:
    return urllib.parse.quote(value, safe="~")


def canonical_query(raw_query: str) -> str:
    pairs = urllib.parse.parse_qsl(raw_query, keep_blank_values=True)
    return "&".join(f"{_encode(key)}={_encode(value)}" for key, value in sorted(pairs))


class AliyunSmsMock(MockServer):
    """POST /?PhoneNumbers=…&SignName=…&TemplateCode=…&TemplateParam=… (RPC style)."""

    def __init__(self, access_key_id: str, access_key_secret: str, sign_name: str,
                 templates: set[str], param_max_chars: int = 35, per_number_per_minute: int = 1):
        super().__init__()
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_name = sign_name
        self.templates = templates
        self.param_max_chars = param_max_chars
        self.per_number_per_minute = per_number_per_minute
        self.sent: list[dict] = []
        self.signature_failures = 0
        self._per_number: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque)

    def scripted(self, action: tuple) -> Reply | None:
        if action[0] == "code":
            return json_reply({"Code": action[1], "Message": "scripted", "RequestId": "r"})
        return None

    def handle(self, method, path, query, headers, raw_query, body) -> Reply:
        problem = self._check_signature(method, path, headers, raw_query, body)
        if problem is not None:
            return problem
        if headers.get("x-acs-action") != "SendSms" or headers.get("x-acs-version") != "2017-05-25":
            return self._error(400, "InvalidAction.NotFound", "unknown action")

        number = query.get("PhoneNumbers", "")
        if not re.fullmatch(r"1\d{10}", number):
            return json_reply({"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "illegal number",
                               "RequestId": "r"})
        if query.get("SignName") != self.sign_name:
            return json_reply({"Code": "isv.SMS_SIGNATURE_ILLEGAL", "Message": "bad sign",
                               "RequestId": "r"})
        if query.get("TemplateCode") not in self.templates:
            return json_reply({"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "bad template",
                               "RequestId": "r"})
        params = json.loads(query.get("TemplateParam") or "{}")
        if any(len(str(value)) > self.param_max_chars for value in params.values()):
            return json_reply({"Code": "isv.PARAM_LENGTH_LIMIT", "Message": "param too long",
                               "RequestId": "r"})
        if not self._within_number_limit(number):
            return json_reply({"Code": "isv.BUSINESS_LIMIT_CONTROL",
                               "Message": "触发分钟级流控Permits:1", "RequestId": "r"})

        self.sent.append({"number": number, "template": query["TemplateCode"],
                          "params": params, "out_id": query.get("OutId")})
        return json_reply({"Code": "OK", "Message": "OK", "BizId": secrets.token_hex(8),
                           "RequestId": "r"})

    def _check_signature(self, method, path, headers, raw_query, body) -> Reply | None:
        match = _AUTHORIZATION.match(headers.get("authorization", ""))
        if match is None:
            self.signature_failures += 1
            return self._error(400, "MissingAuthorization", "no ACS3 authorization")
        access_key_id, signed_names, signature = match.groups()
        if access_key_id != self.access_key_id:
            return self._error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")

        names = signed_names.split(";")
        required = {"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date",
                    "x-acs-signature-nonce", "x-acs-version"}
        payload_hash = hashlib.sha256(body).hexdigest()
        if not required <= set(names) or headers.get("x-acs-content-sha256") != payload_hash:
            self.signature_failures += 1
            return self._error(400, "IncompleteSignature", "required headers not signed")

        canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in names)
        canonical_request = "\n".join([method, path or "/", canonical_query(raw_query),
                                       canonical_headers, signed_names, payload_hash])
        string_to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
        expected = hmac.new(self.access_key_secret.encode(), string_to_sign.encode(),
                            hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            self.signature_failures += 1
            return self._error(400, "SignatureDoesNotMatch",
                               "Specified signature is not matched with our calculation.")
        return None

    def _within_number_limit(self, number: str) -> bool:
        now = time.monotonic()
        sent = self._per_number[number]
        while sent and now - sent[0] >= 60:
            sent.popleft()
        if len(sent) >= self.per_number_per_minute:
            return False
        sent.append(now)
        return True

    @staticmethod
    def _error(status: int, code: str, message: str) -> Reply:
        return json_reply({"Code": code, "Message": message, "RequestId": "r"}, status=status)
