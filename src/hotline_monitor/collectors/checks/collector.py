"""The `check` collector: one service check per target, written as a `check` reading.

A service that does not respond is a reading with up=0, not a collector
error. An ICMP check that the system does not permit is written with
supported=0 and no `up` field, so it is never mistaken for a host that is down.
"""

from __future__ import annotations

import logging

import httpx

from hotline_monitor.collectors.base import PollResult
from hotline_monitor.collectors.checks import probes
from hotline_monitor.collectors.checks.config import CheckConfig
from hotline_monitor.reading import Reading, now_ns

log = logging.getLogger(__name__)


class CheckCollector:
    kind = "check"

    def __init__(self, check: CheckConfig, site: str) -> None:
        self.check = check
        self.site = site
        self.target = check.id
        self.interval = check.interval
        self._client: httpx.AsyncClient | None = None
        self._sequence = 0
        self._icmp_refused_logged = False
        self._was_up: bool | None = None

    async def poll(self) -> PollResult:
        time_ns = now_ns()
        outcome = await self._run()
        self._log_change(outcome)
        tags = {"site": self.site, "check": self.check.id, "kind": self.check.kind}
        return PollResult([Reading("check", tags, outcome.fields, time_ns)])

    async def _run(self) -> probes.CheckOutcome:
        if self.check.kind == "tcp":
            return await probes.tcp_check(self.check)
        if self.check.kind == "http":
            return await probes.http_check(self.check, self._http_client())

        self._sequence += 1
        try:
            return await probes.icmp_check(self.check, self._sequence)
        except probes.IcmpNotPermitted as err:
            if not self._icmp_refused_logged:
                log.warning(
                    "check %s: ICMP ping not supported for this process (%s); allow it with "
                    "sysctl net.ipv4.ping_group_range covering the agent's group. The check is "
                    "written as supported=0, not as down", self.check.id, err)
                self._icmp_refused_logged = True
            return probes.CheckOutcome({"supported": 0.0})
        except OSError as err:
            return probes.CheckOutcome({"up": 0.0}, f"ping failed: {err}")

    def _http_client(self) -> httpx.AsyncClient:
        if self._client is None:
            # A fresh connection per check would measure the TLS handshake too,
            # which is what a caller of the service pays, so keep-alive is off.
            self._client = httpx.AsyncClient(
                verify=probes.tls_context(self.check), timeout=self.check.timeout,
                follow_redirects=False, limits=httpx.Limits(max_keepalive_connections=0),
                trust_env=False,
            )
        return self._client

    def _log_change(self, outcome: probes.CheckOutcome) -> None:
        if "up" not in outcome.fields:
            return
        up = outcome.fields["up"] == 1.0
        if up == self._was_up:
            if not up:
                log.debug("check %s still down: %s", self.check.id, outcome.error)
            return
        if not up:
            log.error("check %s (%s %s) is down: %s", self.check.id, self.check.kind,
                      self.check.target, outcome.error)
        elif self._was_up is False:
            log.info("check %s (%s %s) is up again", self.check.id, self.check.kind,
                     self.check.target)
        self._was_up = up

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
