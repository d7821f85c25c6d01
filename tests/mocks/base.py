"""A threaded HTTP server on loopback that provider mocks build on.

Each mock subclasses `MockHandler`'s routing through `handle(method, path,
query, headers, body)`, returning (status, headers, body bytes). Tests steer
a mock with `script`: actions popped one per request before normal handling,
such as ("status", 500), ("delay", 3.0) or a provider-specific error code.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = tuple[int, dict[str, str], bytes]


def json_reply(payload: Any, status: int = 200,
               content_type: str = "application/json; charset=utf-8") -> Reply:
    return status, {"Content-Type": content_type}, json.dumps(payload).encode("utf-8")


class MockServer:
    """Runs on 127.0.0.1 on a free port; use as a context manager."""

    def __init__(self) -> None:
        self.script: list[tuple] = []
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> MockServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def next_action(self) -> tuple | None:
        with self.lock:
            return self.script.pop(0) if self.script else None

    def dispatch(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
                 raw_query: str, body: bytes) -> Reply:
        action = self.next_action()
        if action is not None:
            if action[0] == "delay":
                time.sleep(action[1])
            elif action[0] == "status":
                return action[1], {"Content-Type": "text/plain"}, b"internal error"
            elif action[0] == "drop":
                return -1, {}, b""
            else:
                reply = self.scripted(action)
                if reply is not None:
                    return reply
        return self.handle(method, path, query, headers, raw_query, body)

    def scripted(self, action: tuple) -> Reply | None:
        """Return the reply for a provider-specific scripted action."""
        return None

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
               raw_query: str, body: bytes) -> Reply:
        raise NotImplementedError


def _make_handler(server: MockServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; without this, delayed ACK adds
        # about 40 ms to every keep-alive request.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:
            return None

        def _serve(self) -> None:
            parsed = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            with server.lock:
                server.requests.append({"method": self.command, "path": parsed.path,
                                        "query": query, "headers": headers, "body": body})
            status, reply_headers, payload = server.dispatch(
                self.command, parsed.path, query, headers, parsed.query, body)
            if status == -1:
                # Close without a reply, so the client cannot tell whether the request arrived.
                self.close_connection = True
                return
            self.send_response(status)
            for name, value in reply_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _serve
        do_POST = _serve
        do_PUT = _serve

    return Handler
