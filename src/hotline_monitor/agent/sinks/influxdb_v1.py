"""InfluxDB 1.x write API: POST /write with line protocol (gzip), precision ns.

See https://docs.influxdata.com/influxdb/v1/tools/api/#write-http-endpoint.
InfluxDB answers 204 on success, 400 for bad points (a field type conflict,
a malformed line: never worth retrying), 401/403 for credentials, 404 for an
unknown database, and 5xx when it is overloaded.
"""

from __future__ import annotations

import gzip

import httpx

from hotline_monitor.config.model import InfluxDBConfig
from hotline_monitor.errors import SinkRejected, SinkUnavailable


def server_message(response: httpx.Response) -> str:
    """Extract InfluxDB's own error text from a response."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500]
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or body)[:500]
    return str(body)[:500]


class InfluxV1Sink:
    name = "influxdb"

    def __init__(self, config: InfluxDBConfig) -> None:
        self.config = config
        params = {"db": config.database or "", "precision": "ns"}
        if config.retention_policy:
            params["rp"] = config.retention_policy
        auth = (config.username, config.password or "") if config.username else None
        self._client = httpx.AsyncClient(
            base_url=config.url.rstrip("/"),
            params=params,
            auth=auth,
            timeout=config.timeout,
            verify=config.verify_tls,
        )

    async def write(self, lines: list[str]) -> None:
        body = ("\n".join(lines) + "\n").encode("utf-8")
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if self.config.gzip:
            body = gzip.compress(body, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        try:
            response = await self._client.post("/write", content=body, headers=headers)
        except httpx.HTTPError as err:
            raise SinkUnavailable(f"InfluxDB {self.config.url} 无法连接：{err!r}") from err
        check_write_response(response, self.config.url)

    async def close(self) -> None:
        await self._client.aclose()


def check_write_response(response: httpx.Response, url: str) -> None:
    """Raise the right SinkError for a write's HTTP answer."""
    if response.status_code in (200, 204):
        return
    message = f"InfluxDB {url} 拒绝写入（HTTP {response.status_code}）：{server_message(response)}"
    if response.status_code == 429 or response.status_code >= 500:
        raise SinkUnavailable(message)
    if response.status_code in (401, 403, 404):
        # Credentials or a missing database: the data is fine, the setup is not,
        # so keep the points and retry after the operator fixes it.
        raise SinkUnavailable(message)
    raise SinkRejected(message, response.status_code)
