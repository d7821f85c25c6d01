"""Benchmark: messages per second through the outbox to a local mock WeCom robot.

Peer: the same number of direct HTTP posts of the same bodies with one httpx
client (what a program without an outbox would do). The ratio is the cost of
committing each message to SQLite (synchronous=FULL) and tracking its
delivery. The robot's rate limit is off in both the mock and the channel.

    uv run python bench/outbox.py [--messages 1000] [--rounds 3]

Each round measures both paths; the medians are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from mocks.wecom import WecomRobotMock  # noqa: E402

from hotline_monitor.config.loader import parse_config  # noqa: E402
from hotline_monitor.notify.message import OutgoingMessage, Recipient  # noqa: E402
from hotline_monitor.notify.service import build_notifier  # noqa: E402

KEY = "bench-robot-key-0001"


def _messages(count: int) -> list[OutgoingMessage]:
    return [OutgoingMessage(key=f"bench-{index}", kind="alert", severity="critical",
                            title=f"主机房 UPS 转为电池供电 {index}",
                            text="市电中断，UPS 由电池供电，剩余 42 分钟。",
                            recipients=[Recipient("ops")]) for index in range(count)]


async def through_outbox(base_url: str, count: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        text = (f"site: bench\nstate_dir: {folder}\nchannels:\n  ops:\n    type: wecom_robot\n"
                f"    key: {KEY}\n    base_url: {base_url}\n    rate_limit: 0\n    format: text\n")
        notifier = build_notifier(parse_config(text, Path(folder) / "bench.yaml"))
        started = time.perf_counter()
        await notifier.start()
        for message in _messages(count):
            notifier.outbox.enqueue(message)
        idle = await notifier.drain(300)
        elapsed = time.perf_counter() - started
        await notifier.stop()
    if not idle:
        raise RuntimeError("the outbox did not empty within 300 s")
    return elapsed


async def direct_posts(base_url: str, count: int) -> float:
    async with httpx.AsyncClient(trust_env=False) as client:
        started = time.perf_counter()
        for message in _messages(count):
            body = {"msgtype": "text", "text": {"content": f"【严重】{message.title}\n{message.text}"}}
            response = await client.post(f"{base_url}/cgi-bin/webhook/send", params={"key": KEY},
                                         json=body)
            response.raise_for_status()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    direct_times, outbox_times = [], []
    for _ in range(args.rounds):
        with WecomRobotMock({KEY}, rate_limit=0) as mock:
            direct_times.append(asyncio.run(direct_posts(mock.base_url, args.messages)))
            outbox_times.append(asyncio.run(through_outbox(mock.base_url, args.messages)))
            accepted = len(mock.accepted)
        if accepted != 2 * args.messages:
            raise RuntimeError(f"the mock accepted {accepted} messages, expected {2 * args.messages}")

    direct = statistics.median(direct_times)
    outbox = statistics.median(outbox_times)
    print(f"messages: {args.messages}, rounds: {args.rounds} (medians)")
    print(f"direct httpx posts: {args.messages / direct:8.1f} msg/s "
          f"({direct / args.messages * 1000:.2f} ms each)")
    print(f"through the outbox: {args.messages / outbox:8.1f} msg/s "
          f"({outbox / args.messages * 1000:.2f} ms each)")
    print(f"overhead per message: {(outbox - direct) / args.messages * 1000:.2f} ms; "
          f"ratio outbox/direct time: {outbox / direct:.2f}")


if __name__ == "__main__":
    main()
