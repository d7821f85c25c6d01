"""CPU cost of SIP OPTIONS probes and host polls, against bare-Python floors.

1. 200 UDP trunks probed in rounds (all trunks at once, as a 10 s interval
   would fire them) by `SipTrunkCollector`, against a bare socket loop that
   sends the same OPTIONS to the same kamailio and waits for every reply.
2. `HostCollector.poll()` against a bare loop calling the same psutil
   functions without building readings.

Client CPU time (time.process_time) is compared, not wall time: kamailio's own
work would otherwise be counted. Run: uv run python bench/sip_and_host.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import select
import socket
import statistics
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from servers import kamailio  # noqa: E402

from hotline_monitor.collectors.host.collector import HostCollector  # noqa: E402
from hotline_monitor.collectors.host.config import HostConfig  # noqa: E402
from hotline_monitor.collectors.sip_trunk.collector import SipTrunkCollector  # noqa: E402
from hotline_monitor.collectors.sip_trunk.config import SipTrunkConfig  # noqa: E402


def cpu_ms_per_probe_ours(port: int, trunks: int, rounds: int) -> float:
    async def run() -> float:
        collectors = [
            SipTrunkCollector(SipTrunkConfig(id=f"trunk-{index}", host="127.0.0.1", port=port,
                                             timeout=5.0), "bench")
            for index in range(trunks)
        ]
        # One warm-up round opens the sockets, as a running agent already has them.
        await asyncio.gather(*(collector.poll() for collector in collectors))
        started = time.process_time()
        failures = 0
        for _ in range(rounds):
            results = await asyncio.gather(*(collector.poll() for collector in collectors))
            failures += sum(result.readings[0].fields.get("status_code") != 200.0
                            for result in results)
        spent = time.process_time() - started
        for collector in collectors:
            await collector.close()
        if failures:
            print(f"  warning: {failures} probes without a 200")
        return spent * 1000.0 / (trunks * rounds)

    return asyncio.run(run())


def cpu_ms_per_probe_floor(port: int, trunks: int, rounds: int) -> float:
    sockets = []
    for _ in range(trunks):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        sockets.append(sock)

    def request(sock: socket.socket, cseq: int) -> tuple[bytes, bytes]:
        local_port = sock.getsockname()[1]
        branch = "z9hG4bK" + secrets.token_hex(8)
        text = (
            f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};branch={branch};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:hotline-monitor@invalid>;tag={secrets.token_hex(6)}\r\n"
            f"To: <sip:127.0.0.1:{port}>\r\n"
            f"Call-ID: {secrets.token_hex(12)}@127.0.0.1\r\n"
            f"CSeq: {cseq} OPTIONS\r\n"
            f"Contact: <sip:hotline-monitor@127.0.0.1:{local_port};transport=udp>\r\n"
            "Accept: application/sdp\r\nUser-Agent: hotline-monitor\r\nContent-Length: 0\r\n\r\n"
        )
        return text.encode(), branch.encode()

    started = time.process_time()
    for cseq in range(1, rounds + 1):
        pending = {}
        for sock in sockets:
            data, branch = request(sock, cseq)
            sock.sendto(data, ("127.0.0.1", port))
            pending[sock] = branch
        deadline = time.monotonic() + 5.0
        while pending and time.monotonic() < deadline:
            readable, _, _ = select.select(list(pending), [], [], 0.5)
            for sock in readable:
                reply = sock.recv(65535)
                if reply.startswith(b"SIP/2.0 200") and pending[sock] in reply:
                    del pending[sock]
        if pending:
            print(f"  warning: floor round {cseq}: {len(pending)} replies missing")
    spent = time.process_time() - started
    for sock in sockets:
        sock.close()
    return spent * 1000.0 / (trunks * rounds)


def cpu_ms_per_host_poll_ours(polls: int) -> float:
    collector = HostCollector(HostConfig(id="bench-host"), "bench")

    async def run() -> float:
        await collector.poll()
        started = time.process_time()
        for _ in range(polls):
            await collector.poll()
        return (time.process_time() - started) * 1000.0 / polls

    return asyncio.run(run())


def cpu_ms_per_host_poll_floor(polls: int) -> float:
    def read_once() -> int:
        values = [psutil.cpu_times(percpu=True), psutil.cpu_times(), psutil.virtual_memory(),
                  psutil.swap_memory(), psutil.disk_io_counters(perdisk=True),
                  psutil.net_io_counters(pernic=True), os.getloadavg(), psutil.boot_time(),
                  psutil.users(), psutil.cpu_count()]
        for partition in psutil.disk_partitions(all=False):
            if partition.fstype in ("tmpfs", "devtmpfs", "overlay", "squashfs"):
                continue
            values.append(psutil.disk_usage(partition.mountpoint))
            values.append(os.statvfs(partition.mountpoint))
        values.extend(process.info for process in
                      psutil.process_iter(["name", "status", "num_threads"]))
        return len(values)

    read_once()
    started = time.process_time()
    for _ in range(polls):
        read_once()
    return (time.process_time() - started) * 1000.0 / polls


def median_of(measure, repeats: int) -> float:
    return statistics.median(measure() for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trunks", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--host-polls", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with kamailio() as server:
        ours = median_of(lambda: cpu_ms_per_probe_ours(server.port, args.trunks, args.rounds),
                         args.repeats)
        floor = median_of(lambda: cpu_ms_per_probe_floor(server.port, args.trunks, args.rounds),
                          args.repeats)
    print(f"SIP OPTIONS, {args.trunks} UDP trunks x {args.rounds} rounds, "
          f"median of {args.repeats}:")
    print(f"  SipTrunkCollector   {ours:.3f} ms CPU per probe")
    print(f"  bare socket loop    {floor:.3f} ms CPU per probe")
    print(f"  ratio               {ours / floor:.2f}x")
    print(f"  at a 10 s interval: {ours * args.trunks / 10_000 * 100:.2f} % of one core")

    host_ours = median_of(lambda: cpu_ms_per_host_poll_ours(args.host_polls), args.repeats)
    host_floor = median_of(lambda: cpu_ms_per_host_poll_floor(args.host_polls), args.repeats)
    print(f"Host poll, {args.host_polls} polls, median of {args.repeats}:")
    print(f"  HostCollector.poll  {host_ours:.2f} ms CPU per poll")
    print(f"  bare psutil loop    {host_floor:.2f} ms CPU per poll")
    print(f"  ratio               {host_ours / host_floor:.2f}x")


if __name__ == "__main__":
    main()
