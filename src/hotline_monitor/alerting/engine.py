"""The alerting engine: turns readings into firing and resolved alert messages.

It sees readings and collector health; it never polls. Each alert fires once
and resolves once with its duration. Alert state is kept in `alerts_state.json`
in the state folder, so a restart (or the next `run --once`) does not repeat a
message already sent.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from hotline_monitor.alerting.notify import AlertLog, AlertMessage
from hotline_monitor.alerting.ups_rules import UPS_RULES
from hotline_monitor.config.model import Config
from hotline_monitor.reading import Reading, now_ns
from hotline_monitor.timeutil import format_duration

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Firing:
    severity: str
    since_ns: int
    text: str


class AlertEngine:
    def __init__(self, config: Config, alert_log: AlertLog) -> None:
        self.config = config
        self.alert_log = alert_log
        self.state_path = config.state_dir / "alerts_state.json"
        self.firing: dict[tuple[str, str], _Firing] = self._load_state()
        self._failures: dict[str, int] = {}
        self._names = {ups.id: ups.display_name for ups in config.ups}

    def observe(self, readings: list[Reading]) -> list[AlertMessage]:
        """Evaluate the rules on new readings; send and return the resulting messages."""
        messages: list[AlertMessage] = []
        for reading in readings:
            if reading.measurement == "ups":
                messages += self._evaluate_ups(reading)
            elif reading.measurement == "target" and reading.tags.get("kind", "").startswith("ups"):
                messages += self._evaluate_reachability(reading)

        for message in messages:
            self.alert_log.send(message)
        if messages:
            self._save_state()
        return messages

    def _evaluate_ups(self, reading: Reading) -> list[AlertMessage]:
        ups_id = reading.tags.get("ups", "")
        rules = self.config.alerting.ups
        messages = []
        for rule in UPS_RULES:
            holds = rule.check(reading.fields, rules)
            if holds is None:
                continue
            text = f"{self._names.get(ups_id, ups_id)}：{rule.describe(reading.fields, rules)}"
            message = self._transition(rule.name, ups_id, rule.severity, holds, text,
                                       reading.time_ns)
            if message:
                messages.append(message)
        return messages

    def _evaluate_reachability(self, reading: Reading) -> list[AlertMessage]:
        target = reading.tags.get("target", "")
        up = reading.fields.get("up")
        if up == 1.0:
            self._failures[target] = 0
        else:
            self._failures[target] = self._failures.get(target, 0) + 1
        threshold = self.config.alerting.ups.unreachable_after
        holds = self._failures[target] >= threshold
        if not holds and up != 1.0:
            # Still counting failures: neither raise nor clear yet.
            return []
        name = self._names.get(target, target)
        text = f"{name}：UPS 通信中断，连续 {self._failures[target]} 次轮询无应答"
        message = self._transition("ups_unreachable", target, "critical", holds, text,
                                   reading.time_ns)
        return [message] if message else []

    def _transition(self, rule: str, target: str, severity: str, holds: bool, text: str,
                    time_ns: int) -> AlertMessage | None:
        key = (rule, target)
        current = self.firing.get(key)
        if holds and current is None:
            self.firing[key] = _Firing(severity, time_ns, text)
            return AlertMessage(rule, target, severity, "firing", text, time_ns)
        if not holds and current is not None:
            del self.firing[key]
            duration = max(0.0, (time_ns - current.since_ns) / 1e9)
            resolved_text = f"{current.text.split('：', 1)[0]}：已恢复（{_RESOLVED.get(rule, rule)}），持续 {format_duration(duration)}"
            return AlertMessage(rule, target, severity, "resolved", resolved_text, time_ns,
                                duration)
        return None

    def withdraw(self, target: str, fields: list[str], text: str) -> list[AlertMessage]:
        """Retract alerts raised from `fields` of a target without a recovery message."""
        rules = {rule for field in fields for rule in _RULES_BY_FIELD.get(field, ())}
        messages = []
        for rule in sorted(rules):
            current = self.firing.pop((rule, target), None)
            if current is None:
                continue
            name = current.text.split("：", 1)[0]
            message = AlertMessage(rule, target, current.severity, "withdrawn", f"{name}：{text}", now_ns())
            self.alert_log.send(message)
            messages.append(message)
        if messages:
            self._save_state()
        return messages

    def open_alerts(self) -> list[tuple[str, str, _Firing]]:
        return [(rule, target, firing) for (rule, target), firing in self.firing.items()]

    def _load_state(self) -> dict[tuple[str, str], _Firing]:
        try:
            raw = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as err:
            log.error("alert state %s unreadable, starting empty: %s", self.state_path, err)
            return {}
        return {
            (item["rule"], item["target"]): _Firing(item["severity"], item["since_ns"], item["text"])
            for item in raw
        }

    def _save_state(self) -> None:
        items = [
            {"rule": rule, "target": target, "severity": firing.severity,
             "since_ns": firing.since_ns, "text": firing.text}
            for (rule, target), firing in self.firing.items()
        ]
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, self.state_path)


_RULES_BY_FIELD = {
    "on_battery": ("ups_on_battery",),
    "on_bypass": ("ups_on_bypass",),
    "output_source": ("ups_on_battery", "ups_on_bypass"),
    "battery_status": ("ups_battery_low", "ups_battery_depleted"),
}

_RESOLVED = {
    "ups_on_battery": "市电恢复",
    "ups_on_bypass": "退出旁路",
    "ups_battery_low": "电池电量恢复",
    "ups_battery_depleted": "电池不再耗尽",
    "ups_runtime_low": "后备时间恢复",
    "ups_overload": "负载恢复正常",
    "ups_unreachable": "通信恢复",
}

__all__ = ["AlertEngine", "now_ns"]
