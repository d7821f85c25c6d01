"""The alerting engine: readings in, alert state in SQLite, messages to a `MessageSink`.

It sees readings and collector health; it never polls. `observe(readings)`
evaluates the rules on each batch, `tick(now)` (called every second by the
runner) evaluates what depends on time alone: absence, dates, escalation
steps, repeats and the interruption clock. Both store every state change
before any message is sent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import cast

from hotline_monitor.alerting.config import AlertingConfig, RuleConfig, Severity
from hotline_monitor.alerting.dispatch import NS, Dispatcher
from hotline_monitor.alerting.forecast import BatteryForecast
from hotline_monitor.alerting.interruption import (
    InterruptionClock,
    MaintenanceCheck,
    never_in_maintenance,
)
from hotline_monitor.alerting.notify import AlertMessage, ConsoleSink
from hotline_monitor.alerting.oncall import OncallConfig, address_kinds, defined_channels
from hotline_monitor.alerting.rules import Event, EventKind, RuleEvaluator
from hotline_monitor.alerting.store import AlertRow, AlertStore
from hotline_monitor.alerting.texts import summary_text
from hotline_monitor.alerting.ups_pack import active_rules
from hotline_monitor.config.model import Config
from hotline_monitor.notify.message import MessageSink
from hotline_monitor.reading import Reading

log = logging.getLogger(__name__)

Clock = Callable[[], int]
"""Returns the current UTC time in nanoseconds."""


class AlertEngine:
    """Evaluates rules, keeps alert state and hands due messages to the sink."""

    def __init__(self, config: Config, sink: MessageSink | None = None, *,
                 clock: Clock = time.time_ns,
                 write: Callable[[list[Reading]], None] | None = None,
                 is_in_maintenance: MaintenanceCheck = never_in_maintenance) -> None:
        self.config = config
        self.alerting: AlertingConfig = config.alerting
        self.clock = clock
        self.write = write
        self.sink = sink or ConsoleSink(config.state_dir / "alerts.jsonl",
                                        console=self.alerting.console)
        self.store = AlertStore(config.state_dir / "alerts.sqlite")
        self.names = {ups.id: ups.display_name for ups in config.ups}
        self.dual_path = {ups.id for ups in config.ups if ups.snmp and ups.modbus}
        oncall: OncallConfig = config.oncall

        forecast = self.alerting.forecast
        self.evaluator = RuleEvaluator(
            active_rules(self.alerting), self.alerting.flapping,
            lambda: _scaled(BatteryForecast(forecast.cutoff_pct, forecast.min_readings, forecast.min_span),
                            forecast.time_scale),
            {ups.id: ups.battery_replace_due for ups in config.ups if ups.battery_replace_due},
        )
        self.dispatcher = Dispatcher(self.store, self.sink, self.alerting, oncall,
                                     config.public_url, self.display_name)
        kinds = address_kinds(oncall, defined_channels(config))
        self.dispatcher.address_kinds = kinds
        self.clock_of_interruption: InterruptionClock | None = None
        if self.alerting.interruption and self.alerting.interruption.conditions:
            self.clock_of_interruption = InterruptionClock(
                self.alerting.interruption, config.site, self.store, self.sink, oncall,
                is_in_maintenance)
            self.clock_of_interruption.address_kinds = kinds
        self._restore()

    def display_name(self, target: str) -> str:
        return self.names.get(target, target)

    def observe(self, readings: list[Reading]) -> int:
        """Evaluate the rules on new readings; return how many messages were sent."""
        with self.store.lock:
            return self._observe(readings)

    def _observe(self, readings: list[Reading]) -> int:
        now_ns = self.clock()
        derived: list[Reading] = []
        changed: set[str] = set()
        for reading in readings:
            for event in self.evaluator.evaluate(reading):
                derived += self._apply(event)
                changed.add(event.target)
        if self.clock_of_interruption is not None:
            derived += self.clock_of_interruption.observe(readings, now_ns)
        self._write(derived)
        if not changed:
            return 0
        return self.dispatcher.run(now_ns, changed)

    def tick(self, now: float | None = None) -> int:
        """Evaluate time-based rules and send what is due; `now` in seconds (default: the clock)."""
        with self.store.lock:
            return self._tick(now)

    def _tick(self, now: float | None = None) -> int:
        now_ns = self.clock() if now is None else int(now * NS)
        derived: list[Reading] = []
        for event in self.evaluator.tick(now_ns / NS):
            derived += self._apply(event)
        if self.clock_of_interruption is not None:
            self.clock_of_interruption.tick(now_ns)
        self._write(derived)
        return self.dispatcher.run(now_ns)

    def post(self, message: AlertMessage) -> int:
        """Take an alert found outside the rules, so it is stored, grouped and escalated alike."""
        with self.store.lock:
            return self._post(message)

    def _post(self, message: AlertMessage) -> int:
        name = self.display_name(message.target)
        summary = message.text.removeprefix(f"{name}：")
        # RuleConfig validates the severity string at run time.
        severity = cast(Severity, message.severity)
        rule = RuleConfig(name=message.rule, kind="state", severity=severity,
                          field="external", equals=[1.0],
                          summary=summary.replace("{", "{{").replace("}", "}}"))
        kind: EventKind = "fire" if message.state == "firing" else "resolve"
        event = Event(kind, rule, f"external:{message.rule}:{message.target}", message.target,
                      message.time_ns / NS)
        # No alert_event reading here: a full spool's own alert must not add
        # a reading to that spool.
        self._apply(event)
        return self.dispatcher.run(self.clock(), {message.target})

    def withdraw(self, target: str, fields: list[str], reason: str) -> int:
        """Retract, without a recovery message, the alerts a target's `fields` raised.

        Used when polls contradict what an SNMP trap claimed: the alert was a
        false alarm, and those paged get one retraction message.
        """
        with self.store.lock:
            return self._withdraw(target, fields, reason)

    def _withdraw(self, target: str, fields: list[str], reason: str) -> int:
        now_ns = self.clock()
        rules = {rule.name for rule in self.evaluator.rules
                 if rule.measurement == "ups" and rule.field in fields}
        sent = 0
        for alert in self.store.open_alerts():
            if alert.target != target or alert.rule not in rules or alert.state == "pending":
                continue
            self.store.update_alert(alert.id, state="withdrawn", resolved_ns=now_ns)
            self.evaluator.restore(alert.rule, alert.series, target, False, None)
            log.warning("alert %s on %s withdrawn: %s", alert.rule, target, reason)
            tags = {"site": self.config.site, "rule": alert.rule, "severity": alert.severity,
                    "target": target}
            self._write([Reading("alert_event", tags, {"state": "withdrawn", "message": reason},
                                 now_ns)])
            sent += self.dispatcher.withdraw(alert, reason, now_ns)
        return sent + self.dispatcher.run(now_ns, {target})

    def acknowledge(self, group_id: int, by: str) -> bool:
        with self.store.lock:
            return self.store.acknowledge(group_id, by, self.clock())

    def close(self) -> None:
        self.store.close()

    def _write(self, readings: list[Reading]) -> None:
        if readings and self.write is not None:
            self.write(readings)

    def _restore(self) -> None:
        for alert in self.store.open_alerts():
            if alert.series.startswith("external:"):
                continue
            pending = alert.pending_ns / NS if alert.state == "pending" and alert.pending_ns else None
            self.evaluator.restore(alert.rule, alert.series, alert.target,
                                   alert.state != "pending", pending)

    def _apply(self, event: Event) -> list[Reading]:
        """Store one state change; return its `alert_event` reading for Grafana annotations."""
        rule = event.rule
        time_ns = int(event.time_s * NS)
        current = self.store.find_open(rule.name, event.series)
        extra = {"target": self.display_name(event.target), "due": self._due(event.target)}
        summary = summary_text(rule, event.series, event.value, event.detail, extra)
        source = _series_source(event.series)
        if source and event.target in self.dual_path:
            # Two paths read this UPS: say which one this line comes from.
            summary += f"（{source.upper() if source == 'snmp' else source.capitalize()}）"

        if event.kind == "pending":
            if current is None:
                self.store.insert_alert(rule.name, event.series, event.target, rule.severity,
                                        "pending", summary, event.value, time_ns)
            return []
        if event.kind == "cancel":
            if current is not None and current.state == "pending":
                self.store.delete_alert(current.id)
            return []
        if event.kind == "flapping":
            if current is not None:
                self.store.update_alert(current.id, flapping=1)
            log.warning("rule %s on %s is flapping; holding it firing", rule.name, event.series)
            return []
        if event.kind == "fire":
            # The alert and its group are written together: an alert stored
            # without a group would never page.
            with self.store.transaction():
                self._fire(event, current, summary, time_ns)
        elif current is not None:
            self.store.update_alert(current.id, state="resolved", resolved_ns=time_ns, flapping=0)
            log.info("alert %s on %s resolved", rule.name, event.series)
        return [Reading("alert_event", {"site": self.config.site, "rule": rule.name,
                                        "severity": rule.severity, "target": event.target},
                        {"state": "firing" if event.kind == "fire" else "resolved",
                         "message": summary}, time_ns)]

    def _fire(self, event: Event, current: AlertRow | None, summary: str, time_ns: int) -> None:
        rule = event.rule
        if current is None:
            alert_id = self.store.insert_alert(rule.name, event.series, event.target,
                                               rule.severity, "firing", summary, event.value,
                                               time_ns)
        else:
            alert_id = current.id
            self.store.update_alert(alert_id, state="firing", fired_ns=time_ns, summary=summary,
                                    value=event.value)
        group = self.store.open_group_for(event.target)
        group_id = group.id if group else self.store.insert_group(event.target, time_ns)
        self.store.update_alert(alert_id, group_id=group_id)
        log.warning("alert %s fired on %s: %s", rule.name, event.series, summary)

    def _due(self, ups_id: str) -> str:
        ups = self.config.ups_by_id(ups_id)
        if ups is None or ups.battery_replace_due is None:
            return ""
        return ups.battery_replace_due.isoformat()


def _series_source(series: str) -> str:
    for item in series.partition(":")[2].split(","):
        key, _, value = item.partition("=")
        if key == "source":
            return value
    return ""


class _ScaledForecast:
    """A BatteryForecast fed with reading times multiplied by a time scale."""

    def __init__(self, inner: BatteryForecast, scale: float) -> None:
        self.inner = inner
        self.scale = scale

    def observe(self, time_s: float, *values: object) -> None:
        self.inner.observe(time_s * self.scale, *values)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def _scaled(forecast: BatteryForecast, scale: float) -> BatteryForecast:
    return forecast if scale == 1.0 else _ScaledForecast(forecast, scale)  # type: ignore[return-value]
