"""Rule evaluation: readings in, alert state changes out.

The evaluator keeps, for each rule and series (one measurement with one set of
tags), whether the condition holds. A reading whose field is missing is
unknown: it neither starts, fires nor clears anything, so a UPS card that
answers a sentinel cannot produce a false all-clear.

State changes pass through the flapping filter: a series that changed
`flapping.changes` times within `flapping.window` is held firing and flagged
until it has been quiet for `flapping.quiet`.
"""

from __future__ import annotations

import fnmatch
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from hotline_monitor.alerting.config import FlappingConfig, RuleConfig
from hotline_monitor.alerting.forecast import BatteryForecast, Projection
from hotline_monitor.reading import Reading
from hotline_monitor.timeutil import SHANGHAI

EventKind = Literal["pending", "cancel", "fire", "resolve", "flapping"]

TARGET_TAGS = ("ups", "host", "trunk", "check", "target", "service")

# `source` (SNMP or Modbus) stays part of a series: where two paths to one UPS
# disagree, one state per path keeps each alert steady instead of flipping on
# alternate polls. Both paths' alerts share the UPS's group, so they page together.
_NOT_IDENTITY = ("site",)

# RFC 1628 upsOutputSource: battery(5).
OUTPUT_SOURCE_BATTERY = 5.0


@dataclass(frozen=True, slots=True)
class Event:
    """One change of an alert's state."""

    kind: EventKind
    rule: RuleConfig
    series: str
    target: str
    time_s: float
    value: float | None = None
    detail: str = ""
    """Extra Chinese text for the line, such as which estimate a forecast used."""


@dataclass(slots=True)
class SeriesState:
    active: bool = False
    """The state the alert shows (held firing while flapping)."""
    raw_active: bool = False
    pending_since: float | None = None
    consecutive: int = 0
    last_seen: float = 0.0
    target: str = ""
    changes: deque[float] = field(default_factory=deque)
    flapping: bool = False


def series_key(reading: Reading) -> str:
    tags = ",".join(f"{key}={value}" for key, value in sorted(reading.tags.items()) if key not in _NOT_IDENTITY)
    return f"{reading.measurement}:{tags}"


def target_of(rule: RuleConfig, tags: dict[str, str]) -> str:
    if rule.target_tag:
        return tags.get(rule.target_tag, "")
    for tag in TARGET_TAGS:
        if tag in tags:
            return tags[tag]
    return ""


class _TagMatcher:
    """Matches a reading's tags against a rule's, with shell patterns where written."""

    def __init__(self, wanted: dict[str, str]) -> None:
        self.exact = {key: value for key, value in wanted.items() if not _is_pattern(value)}
        self.patterns = {key: value for key, value in wanted.items() if _is_pattern(value)}

    def __call__(self, tags: dict[str, str]) -> bool:
        for key, value in self.exact.items():
            if tags.get(key) != value:
                return False
        for key, pattern in self.patterns.items():
            if key not in tags or not fnmatch.fnmatchcase(tags[key], pattern):
                return False
        return True


def _is_pattern(value: str) -> bool:
    return any(char in value for char in "*?[")


class RuleEvaluator:
    """Evaluates the configured rules on readings and on the clock's ticks."""

    def __init__(self, rules: Iterable[RuleConfig], flapping: FlappingConfig,
                 new_forecast: Callable[[], BatteryForecast],
                 replace_due: dict[str, date] | None = None) -> None:
        self.rules = [rule for rule in rules if rule.enabled]
        self.flapping = flapping
        self.new_forecast = new_forecast
        self.replace_due = replace_due or {}
        self.by_measurement: dict[str, list[tuple[RuleConfig, _TagMatcher]]] = {}
        for rule in self.rules:
            if rule.kind != "date":
                self.by_measurement.setdefault(rule.measurement, []).append(
                    (rule, _TagMatcher(rule.tags)))
        self.states: dict[tuple[str, str], SeriesState] = {}
        self.forecasts: dict[str, BatteryForecast] = {}
        self.spread_members: dict[tuple[str, str], dict[str, float]] = {}

    def restore(self, rule_name: str, series: str, target: str, active: bool,
                pending_since: float | None) -> None:
        """Take back a state stored before a restart, so a firing alert is not fired again."""
        state = self.states.setdefault((rule_name, series), SeriesState(target=target))
        state.active = state.raw_active = active
        state.pending_since = pending_since

    def evaluate(self, reading: Reading) -> list[Event]:
        time_s = reading.time_ns / 1e9
        events: list[Event] = []
        if reading.measurement == "ups":
            self._feed_forecast(reading, time_s)
        for rule, matches in self.by_measurement.get(reading.measurement, ()):
            if not matches(reading.tags):
                continue
            events += self._evaluate_rule(rule, reading, time_s)
        return events

    def forecast_for(self, ups_id: str, source: str = "") -> Projection | None:
        """Return the projection for one UPS as one path (SNMP, Modbus) reads it."""
        forecast = self.forecasts.get(f"{ups_id}/{source}")
        return forecast.project() if forecast else None

    def tick(self, now_s: float) -> list[Event]:
        """Evaluate what depends on time alone: absence, dates, the end of flapping."""
        events: list[Event] = []
        for rule in self.rules:
            if rule.kind == "absence":
                events += self._check_absence(rule, now_s)
            elif rule.kind == "date":
                events += self._check_dates(rule, now_s)
        for (rule_name, series), state in self.states.items():
            if state.flapping and state.changes and now_s - state.changes[-1] >= self.flapping.quiet:
                events += self._end_flapping(rule_name, series, state, now_s)
        return events

    def _feed_forecast(self, reading: Reading, time_s: float) -> None:
        key = f"{reading.tags.get('ups', '')}/{reading.tags.get('source', '')}"
        forecast = self.forecasts.get(key)
        if forecast is None:
            forecast = self.forecasts[key] = self.new_forecast()
        fields = reading.fields
        forecast.observe(time_s, _on_battery(fields), _number(fields, "charge_pct"),
                         _number(fields, "runtime_s"))

    def _evaluate_rule(self, rule: RuleConfig, reading: Reading, time_s: float) -> list[Event]:
        series = series_key(reading)
        key = (rule.name, series)
        state = self.states.get(key)
        if state is None:
            state = self.states[key] = SeriesState(target=target_of(rule, reading.tags))
        state.last_seen = time_s

        if rule.kind == "absence":
            return self._change(rule, series, state, False, time_s, None)
        if rule.kind == "spread":
            return self._evaluate_spread(rule, reading, time_s)

        detail = ""
        if rule.kind == "forecast":
            projection = self.forecast_for(reading.tags.get("ups", ""),
                                           reading.tags.get("source", ""))
            value = projection.remaining_s if projection else None
            detail = projection.source_text if projection else ""
        else:
            value = _number(reading.fields, rule.field)
        if value is None:
            return []
        return self._apply(rule, series, state, value, time_s, detail)

    def _apply(self, rule: RuleConfig, series: str, state: SeriesState, value: float,
               time_s: float, detail: str = "") -> list[Event]:
        if rule.kind == "state":
            breach = value in rule.equals
            cleared = not breach
        else:
            breach, cleared = _threshold(rule, value)

        if not state.raw_active:
            if not breach:
                return self._cancel_pending(rule, series, state, time_s, value)
            return self._advance_pending(rule, series, state, value, time_s, detail)
        if cleared:
            return self._change(rule, series, state, False, time_s, value, detail)
        return []

    def _advance_pending(self, rule: RuleConfig, series: str, state: SeriesState, value: float,
                         time_s: float, detail: str) -> list[Event]:
        events: list[Event] = []
        state.consecutive += 1
        if state.pending_since is None:
            state.pending_since = time_s
            if rule.for_ or rule.count > 1:
                events.append(Event("pending", rule, series, state.target, time_s, value, detail))
        held = time_s - state.pending_since
        if state.consecutive >= rule.count and held >= (rule.for_ or 0.0):
            events += self._change(rule, series, state, True, time_s, value, detail)
        return events

    def _cancel_pending(self, rule: RuleConfig, series: str, state: SeriesState, time_s: float,
                        value: float) -> list[Event]:
        was_pending = state.pending_since is not None and (rule.for_ or rule.count > 1)
        state.pending_since = None
        state.consecutive = 0
        if was_pending:
            return [Event("cancel", rule, series, state.target, time_s, value)]
        return []

    def _change(self, rule: RuleConfig, series: str, state: SeriesState, active: bool,
                time_s: float, value: float | None, detail: str = "") -> list[Event]:
        if state.raw_active == active:
            return []
        state.raw_active = active
        state.pending_since = None
        state.consecutive = 0
        state.changes.append(time_s)
        while state.changes and time_s - state.changes[0] > self.flapping.window:
            state.changes.popleft()

        if state.flapping:
            return []
        if len(state.changes) >= self.flapping.changes:
            state.flapping = True
            held: list[Event] = []
            if not state.active:
                state.active = True
                held.append(Event("fire", rule, series, state.target, time_s, value, detail))
            return [*held, Event("flapping", rule, series, state.target, time_s, value)]

        state.active = active
        kind: EventKind = "fire" if active else "resolve"
        return [Event(kind, rule, series, state.target, time_s, value, detail)]

    def _end_flapping(self, rule_name: str, series: str, state: SeriesState,
                      now_s: float) -> list[Event]:
        state.flapping = False
        state.changes.clear()
        if state.raw_active or not state.active:
            return []
        state.active = False
        rule = next(rule for rule in self.rules if rule.name == rule_name)
        return [Event("resolve", rule, series, state.target, now_s)]

    def _evaluate_spread(self, rule: RuleConfig, reading: Reading, time_s: float) -> list[Event]:
        value = _number(reading.fields, rule.field)
        if value is None:
            return []
        group_tags = {key: val for key, val in reading.tags.items() if key != rule.across}
        group = series_key(Reading(reading.measurement, group_tags, {}))
        members = self.spread_members.setdefault((rule.name, group), {})
        members[reading.tags.get(rule.across, "")] = value
        if len(members) < rule.members:
            return []

        mean = sum(members.values()) / len(members)
        if mean <= 0:
            return []
        spread_pct = (max(members.values()) - min(members.values())) / mean * 100.0
        state = self.states.get((rule.name, group))
        if state is None:
            state = self.states[(rule.name, group)] = SeriesState(target=target_of(rule, group_tags))
        return self._apply(rule, group, state, spread_pct, time_s)

    def _check_absence(self, rule: RuleConfig, now_s: float) -> list[Event]:
        events: list[Event] = []
        for (rule_name, series), state in self.states.items():
            if rule_name != rule.name or state.raw_active:
                continue
            if now_s - state.last_seen >= (rule.after or 0.0):
                events += self._change(rule, series, state, True, now_s,
                                       now_s - state.last_seen)
        return events

    def _check_dates(self, rule: RuleConfig, now_s: float) -> list[Event]:
        events: list[Event] = []
        today = datetime.fromtimestamp(now_s, SHANGHAI).date()
        for ups_id, due in self.replace_due.items():
            series = f"date:{rule.name}:{ups_id}"
            state = self.states.get((rule.name, series))
            if state is None:
                state = self.states[(rule.name, series)] = SeriesState(target=ups_id)
            due_soon = today >= due - timedelta(days=rule.days_before)
            days_left = float((due - today).days)
            events += self._change(rule, series, state, due_soon, now_s, days_left)
        return events


def _threshold(rule: RuleConfig, value: float) -> tuple[bool, bool]:
    """Return (breach, cleared) for a threshold-like rule."""
    if rule.above is not None:
        clear_at = rule.clear_above if rule.clear_above is not None else rule.above
        return value > rule.above, value <= clear_at
    assert rule.below is not None
    clear_at = rule.clear_below if rule.clear_below is not None else rule.below
    return value < rule.below, value >= clear_at


def _number(fields: dict[str, float | str], key: str) -> float | None:
    value = fields.get(key)
    return value if isinstance(value, float) else None


def _on_battery(fields: dict[str, float | str]) -> bool | None:
    on_battery = _number(fields, "on_battery")
    if on_battery is not None:
        return on_battery == 1.0
    source = _number(fields, "output_source")
    return None if source is None else source == OUTPUT_SOURCE_BATTERY
