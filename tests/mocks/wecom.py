"""Mocks of the WeCom group robot webhook and of WeCom application messages.

Implements the documented request formats, the errcode replies (always HTTP
200), the content byte limits (text 2,048, markdown 4,096), the per-robot
rate limit (20 a minute unless changed for a test), the access token of
application messages (expires_in 7,200 s; 42001 expired, 40014 invalid) and
their duplicate check.
"""

from __future__ import annotations

import collections
import json
import secrets
import time

from mocks.base import MockServer, Reply, json_reply

TEXT_MAX_BYTES = 2048
MARKDOWN_MAX_BYTES = 4096


class WecomRobotMock(MockServer):
    """POST /cgi-bin/webhook/send?key=KEY."""

    def __init__(self, keys: set[str], rate_limit: int = 20, rate_window: float = 60.0) -> None:
        super().__init__()
        self.keys = keys
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.accepted: list[dict] = []
        self.rejected: list[int] = []
        self._sent_at: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque)

    def scripted(self, action: tuple) -> Reply | None:
        if action[0] == "errcode":
            self.rejected.append(action[1])
            return json_reply({"errcode": action[1], "errmsg": "scripted error"})
        return None

    def handle(self, method, path, query, headers, raw_query, body) -> Reply:
        if method != "POST" or path != "/cgi-bin/webhook/send":
            return json_reply({"errcode": 404, "errmsg": "not found"}, status=404)
        key = query.get("key", "")
        if key not in self.keys:
            return self._error(93000, "invalid webhook url")
        if not self._within_rate(key):
            return self._error(45009, "api freq out of limit")

        payload = json.loads(body)
        msgtype = payload.get("msgtype")
        if msgtype not in ("text", "markdown"):
            return self._error(40008, "invalid message type")
        content = payload[msgtype].get("content", "")
        limit = TEXT_MAX_BYTES if msgtype == "text" else MARKDOWN_MAX_BYTES
        if len(content.encode("utf-8")) > limit:
            return self._error(40058, "content exceed max length")

        self.accepted.append(payload)
        return json_reply({"errcode": 0, "errmsg": "ok"})

    def _within_rate(self, key: str) -> bool:
        if self.rate_limit <= 0:
            return True
        now = time.monotonic()
        window = self._sent_at[key]
        while window and now - window[0] >= self.rate_window:
            window.popleft()
        if len(window) >= self.rate_limit:
            return False
        window.append(now)
        return True

    def _error(self, errcode: int, errmsg: str) -> Reply:
        self.rejected.append(errcode)
        return json_reply({"errcode": errcode, "errmsg": errmsg})


class WecomAppMock(MockServer):
    """GET /cgi-bin/gettoken and POST /cgi-bin/message/send?access_token=TOKEN."""

    def __init__(self, corpid: str, corpsecret: str, agentid: int, users: set[str]) -> None:
        super().__init__()
        self.corpid = corpid
        self.corpsecret = corpsecret
        self.agentid = agentid
        self.users = users
        self.tokens: dict[str, float] = {}
        """Token → monotonic time it expires."""
        self.tokens_issued = 0
        self.expire_after_sends: int | None = None
        self.delivered: list[dict] = []
        self.duplicates: list[dict] = []
        self._sends_with_token = 0

    def expire_all_tokens(self) -> None:
        with self.lock:
            for token in self.tokens:
                self.tokens[token] = 0.0

    def handle(self, method, path, query, headers, raw_query, body) -> Reply:
        if path == "/cgi-bin/gettoken" and method == "GET":
            return self._gettoken(query)
        if path == "/cgi-bin/message/send" and method == "POST":
            return self._send(query, json.loads(body))
        return json_reply({"errcode": 404, "errmsg": "not found"}, status=404)

    def _gettoken(self, query: dict[str, str]) -> Reply:
        if query.get("corpid") != self.corpid:
            return json_reply({"errcode": 40013, "errmsg": "invalid corpid"})
        if query.get("corpsecret") != self.corpsecret:
            return json_reply({"errcode": 40001, "errmsg": "invalid credential"})
        token = secrets.token_hex(16)
        with self.lock:
            self.tokens[token] = time.monotonic() + 7200
            self.tokens_issued += 1
            self._sends_with_token = 0
        return json_reply({"errcode": 0, "errmsg": "ok", "access_token": token,
                           "expires_in": 7200})

    def _send(self, query: dict[str, str], payload: dict) -> Reply:
        token = query.get("access_token", "")
        with self.lock:
            if token not in self.tokens:
                return json_reply({"errcode": 40014, "errmsg": "invalid access_token"})
            if self.tokens[token] <= time.monotonic():
                return json_reply({"errcode": 42001, "errmsg": "access_token expired"})
            self._sends_with_token += 1
            if self.expire_after_sends and self._sends_with_token >= self.expire_after_sends:
                # The next send with this token finds it expired: a token dying mid-burst.
                self.tokens[token] = 0.0

        if payload.get("agentid") != self.agentid:
            return json_reply({"errcode": 40056, "errmsg": "invalid agentid"})
        msgtype = payload.get("msgtype")
        content = payload.get(msgtype, {}).get("content", "")
        if len(content.encode("utf-8")) > 2048:
            return json_reply({"errcode": 40058, "errmsg": "content exceed max length"})

        users = payload.get("touser", "").split("|")
        invalid = [user for user in users if user not in self.users]
        if payload.get("enable_duplicate_check") == 1 and self._is_duplicate(payload):
            self.duplicates.append(payload)
        elif len(invalid) < len(users):
            self.delivered.append(payload)
        return json_reply({"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid),
                           "msgid": secrets.token_hex(8)})

    def _is_duplicate(self, payload: dict) -> bool:
        interval = payload.get("duplicate_check_interval", 1800)
        now = time.time()
        for earlier in self.delivered:
            same = (earlier["touser"] == payload["touser"]
                    and earlier[earlier["msgtype"]] == payload[payload["msgtype"]])
            if same and now - earlier.get("_at", now) <= interval:
                return True
        payload["_at"] = now
        return False
