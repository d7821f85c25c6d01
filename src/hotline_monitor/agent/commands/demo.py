"""`hotline-monitor demo`: the simulator and the agent together, nothing else needed.

It plays the first 15 minutes of `mains-failure`, then `mains-restored`, at a
speed that takes about two minutes, with a live status view. Readings go to the local store, messages to the console
and the alert log, all in the demo's state folder.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import tempfile
from pathlib import Path

from hotline_monitor.config.model import AlertingConfig, Config
from hotline_monitor.errors import ConfigError

DEFAULT_SPEED = 12.0
MAINS_FAILURE_CUT_S = 15 * 60.0
"""Simulated seconds of mains failure before the mains return.

Short enough that the charge left (about 73 %) gives a runtime above 35
minutes on mains, so every alert of the run resolves and the recovery is sent.
"""
POLL_INTERVAL_S = 2.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="内置演示：模拟 UPS + 采集代理 + 本地存储，无需任何外部服务")
    parser.add_argument("--state-dir", type=Path, metavar="目录",
                        help="演示数据目录（默认当前目录下的 demo-state，不可写时用临时目录）")
    parser.add_argument("--speed", type=float, default=DEFAULT_SPEED, metavar="倍数",
                        help=f"时间倍速（默认 {DEFAULT_SPEED:g}，约两分钟演示完）")
    parser.set_defaults(handler=handle)


def demo_state_dir(requested: Path | None) -> Path:
    """Return the demo's state folder: as requested, else ./demo-state, else a temporary folder."""
    if requested is not None:
        try:
            requested.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError([f"--state-dir：无法创建目录 {requested}：{err.strerror}"]) from err
        if not os.access(requested, os.W_OK):
            raise ConfigError([f"--state-dir：目录 {requested} 不可写"])
        return requested
    candidate = Path.cwd() / "demo-state"
    try:
        candidate.mkdir(exist_ok=True)
        if os.access(candidate, os.W_OK):
            return candidate
    except OSError:
        pass
    return Path(tempfile.mkdtemp(prefix="hotline-demo-"))


def demo_config(state_dir: Path, snmp_port: int, speed: float = 1.0) -> Config:
    # The status view shows the messages; the forecast reads the trend in scenario time.
    alerting: dict = {"console": False, "forecast": {"time_scale": speed}}
    if "interruption" in AlertingConfig.model_fields:
        # The demo site has no SIP trunks, so the hotline counts as interrupted
        # only when the UPS output is off (RFC 1628 upsOutputSource none(2)).
        alerting["interruption"] = {"conditions": [{
            "cause": "UPS 输出中断", "measurement": "ups", "field": "output_source", "equals": [2.0],
        }]}
    return Config.model_validate({
        "site": "demo-12345",
        "state_dir": state_dir,
        "agent_id": "demo-agent",
        "log_level": "warning",
        "ups": [{
            "id": "ups-main",
            "name": "主机房 100kVA UPS（模拟）",
            "snmp": {"host": "127.0.0.1", "port": snmp_port, "timeout": 1, "retries": 0},
            "interval": POLL_INTERVAL_S,
        }],
        "alerting": alerting,
        # The demo has no bureau: it writes no monthly report.
        "maintenance": {"report_day": None},
    })


def handle(args: argparse.Namespace) -> int:
    if not 0 < args.speed <= 10_000:
        raise ConfigError([f"--speed 应大于 0 且不超过 10000，实际为 {args.speed:g}"])
    state_dir = demo_state_dir(args.state_dir)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("apscheduler", "pymodbus", "hotline_monitor.simulator"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # The status view shows every alert; the engine's own log lines would repeat them.
    logging.getLogger("hotline_monitor.alerting").setLevel(logging.ERROR)
    # NOTE: Agent.run_forever stops the scheduler without waiting for a poll in
    # flight; APScheduler then logs that poll's CancelledError with a traceback.
    # The demo hides it so its ending reads cleanly.
    logging.getLogger("apscheduler.executors").setLevel(logging.CRITICAL)
    return asyncio.run(run_demo(state_dir, args.speed))


async def run_demo(state_dir: Path, speed: float) -> int:
    # Imported here: the simulator loads pysnmp and pymodbus, which other commands do not need.
    from hotline_monitor.simulator.harness import LiveRun
    from hotline_monitor.simulator.scenario import load_scenario
    from hotline_monitor.simulator.status_view import StatusView

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    run = LiveRun(lambda port: demo_config(state_dir, port, speed), speed)
    view = StatusView(run)
    print(f"演示开始：模拟 UPS 在 127.0.0.1:{run.simulator.options.snmp_port}（SNMP），"
          f"采集间隔 {POLL_INTERVAL_S:g} 秒，{speed:g} 倍速；按 Ctrl-C 可提前结束。", flush=True)

    scenarios = [(load_scenario("mains-failure"), MAINS_FAILURE_CUT_S),
                 (load_scenario("mains-restored"), None)]

    async def refresh() -> None:
        while True:
            view.title = run.simulator.scenario.title
            view.update()
            await asyncio.sleep(1.0)

    refresher = asyncio.create_task(refresh())
    try:
        # The settle time lets the agent poll the recovered UPS and send the recovery.
        await run.play(scenarios, stop, settle_s=max(3 * POLL_INTERVAL_S, 5.0))
    finally:
        refresher.cancel()
        view.update()
    print_summary(run, state_dir, interrupted=stop.is_set())
    return 0


def print_summary(run, state_dir: Path, interrupted: bool) -> None:
    print("", flush=True)
    print("演示已中断。" if interrupted else "演示结束。")
    print(f"共写入 {run.readings_written} 条读数：{state_dir / 'local_store.sqlite'}（本地存储，SQLite）")
    print(f"告警消息 {len(run.alerts.records)} 条：{state_dir / 'alerts.jsonl'}（告警日志，每行一条 JSON）")
    print(f"演示数据目录：{state_dir}", flush=True)
