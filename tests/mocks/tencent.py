"""Mock of Tencent Cloud SMS SendSms (API 2021-01-11) with TC3-HMAC-SHA256 checking.

Signature, as Tencent Cloud documents it ("签名方法 v3"): canonical request =
method, "/", query string (empty for POST), canonical headers (lower-case
name:lower-case trimmed value for each signed header), signed header names,
hex SHA-256 of the body. String to sign = "TC3-HMAC-SHA256", timestamp,
"date/service/tc3_request", hex SHA-256 of the canonical request. The key is
derived HMAC-SHA256("TC3" + SecretKey, date) → service → "tc3_request".

Replies carry Content-Type exactly `application/json`, because the SDK reads
API errors only from such replies.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import json
import re
import secrets
import time
from datetime import UTC, datetime

from mocks.base import MockServer, Reply, json_reply

_AUTHORIZATION = re.compile(
    r"^TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/([a-z]+)/tc3_request, "
    r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$")


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


class TencentSmsMock(MockServer):
    """POST / with X-TC-Action: SendSms and a JSON body."""

    def __init__(self, secret_id: str, secret_key: str, sdk_app_id: str, sign_name: str,
                 templates: set[str], param_max_chars: int = 12,
                 per_number_per_30s: int = 1) -> None:
        super().__init__()
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.sdk_app_id = sdk_app_id
        self.sign_name = sign_name
        self.templates = templates
        self.param_max_chars = param_max_chars
        self.per_number_per_30s = per_number_per_30s
        self.sent: list[dict] = []
        self.signature_failures = 0
        self._per_number: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque)

    def scripted(self, action: tuple) -> Reply | None:
        if action[0] == "status_code":
            return self._status_reply("+8613800000000", action[1], "scripted")
        if action[0] == "error":
            return self._error(action[1], "scripted")
        return None

    def handle(self, method, path, query, headers, raw_query, body) -> Reply:
        problem = self._check_signature(method, headers, raw_query, body)
        if problem is not None:
            return problem
        if headers.get("x-tc-action") != "SendSms" or headers.get("x-tc-version") != "2021-01-11":
            return self._error("InvalidAction", "unknown action or version")

        payload = json.loads(body)
        if payload.get("SmsSdkAppId") != self.sdk_app_id:
            return self._error("FailedOperation.SmsSdkAppIdVerifyFail", "bad SmsSdkAppId")
        numbers = payload.get("PhoneNumberSet") or []
        if len(numbers) != 1:
            return self._error("InvalidParameterValue", "mock expects one number")
        number = numbers[0]
        if payload.get("SignName") != self.sign_name:
            return self._status_reply(number, "FailedOperation.SignatureIncorrectOrUnapproved",
                                      "signature not approved")
        if payload.get("TemplateId") not in self.templates:
            return self._status_reply(number, "FailedOperation.TemplateIncorrectOrUnapproved",
                                      "template not approved")
        params = payload.get("TemplateParamSet") or []
        if any(len(value) > self.param_max_chars for value in params):
            return self._status_reply(number, "InvalidParameterValue.TemplateParameterLengthLimit",
                                      "template parameter too long")
        if not re.fullmatch(r"\+861\d{10}", number):
            return self._status_reply(number, "InvalidParameterValue.IncorrectPhoneNumber",
                                      "incorrect number")
        if not self._within_number_limit(number):
            return self._status_reply(number, "LimitExceeded.PhoneNumberThirtySecondLimit",
                                      "30 second limit")

        self.sent.append({"number": number, "template": payload["TemplateId"], "params": params,
                          "session": payload.get("SessionContext")})
        return self._status_reply(number, "Ok", "send success")

    def _check_signature(self, method, headers, raw_query, body) -> Reply | None:
        match = _AUTHORIZATION.match(headers.get("authorization", ""))
        if match is None:
            self.signature_failures += 1
            return self._error("AuthFailure.SignatureFailure", "malformed authorization")
        secret_id, date, service, signed_names, signature = match.groups()
        if secret_id != self.secret_id:
            return self._error("AuthFailure.SecretIdNotFound", "secret id not found")

        timestamp = headers.get("x-tc-timestamp", "0")
        moment = datetime.fromtimestamp(int(timestamp), tz=UTC)
        if abs(time.time() - int(timestamp)) > 300:
            return self._error("AuthFailure.SignatureExpire", "timestamp too far from now")
        if moment.strftime("%Y-%m-%d") != date or service != "sms":
            self.signature_failures += 1
            return self._error("AuthFailure.SignatureFailure", "bad credential scope")

        names = signed_names.split(";")
        if "host" not in names or "content-type" not in names:
            self.signature_failures += 1
            return self._error("AuthFailure.SignatureFailure", "host and content-type unsigned")
        canonical_headers = "".join(
            f"{name}:{headers.get(name, '').strip().lower()}\n" for name in names)
        canonical_request = "\n".join([method, "/", raw_query if method == "GET" else "",
                                       canonical_headers, signed_names,
                                       hashlib.sha256(body).hexdigest()])
        scope = f"{date}/{service}/tc3_request"
        string_to_sign = "\n".join(["TC3-HMAC-SHA256", timestamp, scope,
                                    hashlib.sha256(canonical_request.encode()).hexdigest()])
        key = _hmac(_hmac(_hmac(("TC3" + self.secret_key).encode(), date), service),
                    "tc3_request")
        expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            self.signature_failures += 1
            return self._error("AuthFailure.SignatureFailure", "signature mismatch")
        return None

    def _within_number_limit(self, number: str) -> bool:
        now = time.monotonic()
        sent = self._per_number[number]
        while sent and now - sent[0] >= 30:
            sent.popleft()
        if len(sent) >= self.per_number_per_30s:
            return False
        sent.append(now)
        return True

    @staticmethod
    def _status_reply(number: str, code: str, message: str) -> Reply:
        status = {"SerialNo": secrets.token_hex(8), "PhoneNumber": number, "Fee": 1,
                  "SessionContext": "", "Code": code, "Message": message, "IsoCode": "CN"}
        return json_reply({"Response": {"SendStatusSet": [status], "RequestId": "r"}},
                          content_type="application/json")

    @staticmethod
    def _error(code: str, message: str) -> Reply:
        return json_reply({"Response": {"Error": {"Code": code, "Message": message},
                                        "RequestId": "r"}}, content_type="application/json")
