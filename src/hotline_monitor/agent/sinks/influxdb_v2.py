"""InfluxDB 2.x/3.x write API (`/api/v2/write`) through the official influxdb-client.

The client's own batching and retry are switched off (synchronous write
options): batching and retrying are the writer's job, so that nothing is
retried twice or dropped inside the library.
"""

from __future__ import annotations

import asyncio

from influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException
from urllib3.exceptions import HTTPError as Urllib3Error

from hotline_monitor.config.model import InfluxDBConfig
from hotline_monitor.errors import SinkRejected, SinkUnavailable


class InfluxV2Sink:
    name = "influxdb"

    def __init__(self, config: InfluxDBConfig) -> None:
        self.config = config
        self._client = InfluxDBClient(
            url=config.url,
            token=config.token,
            org=config.org,
            timeout=int(config.timeout * 1000),
            enable_gzip=config.gzip,
            verify_ssl=config.verify_tls,
            retries=False,
        )
        self._write_api = self._client.write_api(write_options=SYNCHRONOUS)

    async def write(self, lines: list[str]) -> None:
        await asyncio.to_thread(self._write_blocking, lines)

    def _write_blocking(self, lines: list[str]) -> None:
        try:
            self._write_api.write(bucket=self.config.bucket, org=self.config.org,
                                  record="\n".join(lines), write_precision="ns")
        except ApiException as err:
            message = (f"InfluxDB {self.config.url} 拒绝写入（HTTP {err.status}）："
                       f"{(err.body or err.reason or '').strip()[:500]}")
            if err.status and 400 <= err.status < 500 and err.status not in (401, 403, 404, 429):
                raise SinkRejected(message, err.status) from err
            raise SinkUnavailable(message) from err
        except (Urllib3Error, OSError) as err:
            raise SinkUnavailable(f"InfluxDB {self.config.url} 无法连接：{err!r}") from err

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)
