"""The `sip_trunk` collector: one OPTIONS probe per poll, and the trunk's up/down state.

A probe succeeds on a 2xx final response (or a code listed in `accept_codes`).
Any other final response, 403 and 503 included, means the peer is reachable
but refusing calls, so it counts as a failure just like silence. The trunk is
down once `failures_before_down` probes in a row have failed, up again at the
first success, and unknown (no `up` field) until either has happened.

A failed probe, no route to the peer included, is a reading and not a
collector error. The poll raises DeviceUnreachable only when the agent itself
cannot probe, for example when it cannot open a socket (too many open files).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import socket
import ssl

from hotline_monitor.collectors.base import PollResult
from hotline_monitor.collectors.sip_trunk.config import SipTrunkConfig
from hotline_monitor.collectors.sip_trunk.message import OptionsRequest, build_options
from hotline_monitor.collectors.sip_trunk.transport import ProbeOutcome, UdpProber, stream_probe
from hotline_monitor.errors import DeviceUnreachable
from hotline_monitor.reading import Reading, now_ns

log = logging.getLogger(__name__)

_NO_ROUTE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL}


class SipTrunkCollector:
    kind = "sip_trunk"

    def __init__(self, trunk: SipTrunkConfig, site: str) -> None:
        self.trunk = trunk
        self.site = site
        self.target = trunk.id
        self.interval = trunk.interval
        self.consecutive_failures = 0
        self.up: bool | None = None
        self._cseq = 0
        self._udp = UdpProber(trunk.id, trunk.t1) if trunk.transport == "udp" else None
        self._tls = _tls_context(trunk) if trunk.transport == "tls" else None
        # An address written as such needs no lookup; a name is resolved on
        # every probe so that a carrier's DNS change is followed.
        self._literal, self._literal_family = _ip_literal(trunk.host)

    async def poll(self) -> PollResult:
        time_ns = now_ns()
        outcome = await self.probe()
        success = outcome.response is not None and self._accepted(outcome.response.status_code)
        self._update_state(success, outcome)
        return PollResult([self._reading(outcome, time_ns)])

    async def probe(self) -> ProbeOutcome:
        """Send one OPTIONS and wait for its final response or the timeout."""
        self._cseq += 1
        try:
            peer, family = await self._resolve()
        except OSError as err:
            return ProbeOutcome(error=f"cannot resolve {self.trunk.host}: {err}")

        if self._udp is not None:
            try:
                return await self._udp.probe(peer, family, self._build, self.trunk.timeout)
            except OSError as err:
                if err.errno in _NO_ROUTE:
                    # No route to the peer makes the trunk unusable: a failed probe.
                    return ProbeOutcome(error=f"no route to {peer[0]}: {err}")
                raise DeviceUnreachable(f"UDP socket towards {peer[0]}:{peer[1]} failed: {err}"
                                        ) from err
        server_name = self.trunk.tls_server_name or self.trunk.host
        return await stream_probe(self.trunk.id, peer, self._build, self.trunk.timeout,
                                  self._tls, server_name)

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()

    def _build(self, local_host: str, local_port: int) -> OptionsRequest:
        return build_options(self.trunk.request_uri, self.trunk.from_uri, self.trunk.transport,
                             local_host, local_port, self._cseq)

    async def _resolve(self) -> tuple[tuple[str, int], int]:
        if self._literal is not None:
            return (self._literal, self.trunk.peer_port), self._literal_family
        kind = socket.SOCK_DGRAM if self.trunk.transport == "udp" else socket.SOCK_STREAM
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(self.trunk.host, self.trunk.peer_port, type=kind)
        family, _, _, _, address = infos[0]
        return (address[0], address[1]), family

    def _accepted(self, status_code: int) -> bool:
        return 200 <= status_code < 300 or status_code in self.trunk.accept_codes

    def _update_state(self, success: bool, outcome: ProbeOutcome) -> None:
        if success:
            if self.up is False:
                log.info("trunk %s (%s) up again after %d failed probes", self.trunk.id,
                         self.trunk.display_name, self.consecutive_failures)
            self.consecutive_failures = 0
            self.up = True
            return

        self.consecutive_failures += 1
        reason = _describe_failure(outcome)
        if self.consecutive_failures < self.trunk.failures_before_down:
            log.debug("trunk %s probe failed (%d of %d before down): %s", self.trunk.id,
                      self.consecutive_failures, self.trunk.failures_before_down, reason)
            return
        if self.up is not False:
            log.error("trunk %s (%s) down after %d failed probes: %s", self.trunk.id,
                      self.trunk.display_name, self.consecutive_failures, reason)
        self.up = False

    def _reading(self, outcome: ProbeOutcome, time_ns: int) -> Reading:
        fields: dict[str, float | str] = {
            "consecutive_failures": float(self.consecutive_failures),
            "reachable": 1.0 if outcome.response is not None else 0.0,
        }
        if self.up is not None:
            fields["up"] = 1.0 if self.up else 0.0
        if outcome.response is not None:
            fields["status_code"] = float(outcome.response.status_code)
            if outcome.rtt_ms is not None:
                fields["rtt_ms"] = outcome.rtt_ms
        if outcome.transmissions > 1:
            fields["retransmissions"] = float(outcome.transmissions - 1)
        return Reading("sip_trunk", {"site": self.site, "trunk": self.trunk.id}, fields, time_ns)


def _describe_failure(outcome: ProbeOutcome) -> str:
    if outcome.response is not None:
        return f"answered {outcome.response.status_code} {outcome.response.reason}"
    return outcome.error or "no response"


def _ip_literal(host: str) -> tuple[str | None, int]:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None, 0
    return str(address), socket.AF_INET6 if address.version == 6 else socket.AF_INET


def _tls_context(trunk: SipTrunkConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(trunk.ca_path) if trunk.ca_path else None)
    if not trunk.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
