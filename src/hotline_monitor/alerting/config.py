"""The `alerting:` configuration section: rules, the built-in UPS pack, the interruption clock.

A rule matches readings by measurement, tags and one field, and says when the
condition holds. Rule kinds:

- `threshold`: the field crosses `above`/`below`; it must hold for `for`
  seconds before firing, and clears only past `clear_above`/`clear_below`
  (hysteresis). `count` asks for that many consecutive readings instead.
- `state`: the field equals one of `equals` (for example output_source 5).
- `absence`: no reading of the matched series for `after` seconds.
- `spread`: (max - min) / mean of the field across the series that differ
  only in `across` (the three phases), in percent, above `above`.
- `forecast`: the battery forecast's remaining time is under `below` seconds.
- `date`: a date in the configuration (`ups[].battery_replace_due`) is within
  `days_before` days.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from hotline_monitor.config.types import Duration, Identifier, StrictModel

Severity = Literal["info", "warning", "critical", "emergency"]

SEVERITY_NAMES: dict[str, str] = {
    "info": "提示",
    "warning": "警告",
    "critical": "严重",
    "emergency": "紧急",
}
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2, "emergency": 3}

RuleKind = Literal["threshold", "state", "absence", "spread", "forecast", "date"]


class RuleConfig(StrictModel):
    """One alert rule."""

    name: Identifier
    kind: RuleKind
    severity: Severity = "warning"
    measurement: str = "ups"
    tags: dict[str, str] = {}
    """Tags a reading must carry; a value may be a shell pattern (`ups-*`)."""
    field: str = ""
    target_tag: str = ""
    """The tag that names the alert's target; default: ups, host, trunk, check or target."""
    above: float | None = None
    below: float | None = None
    clear_above: float | None = None
    clear_below: float | None = None
    equals: list[float] = []
    for_: Duration | None = Field(default=None, alias="for")
    count: Annotated[int, Field(ge=1, le=1000)] = 1
    after: Duration | None = None
    across: str = "line"
    members: Annotated[int, Field(ge=2, le=64)] = 3
    """`spread`: how many series (phases) must be known before the spread counts."""
    days_before: Annotated[int, Field(ge=0, le=3650)] = 30
    summary: str = ""
    """Chinese text of the alert line; `{target}`, `{value}` and `{threshold}` are filled in."""
    resolved: str = ""
    """Chinese text of the recovery line."""
    enabled: bool = True

    model_config = {**StrictModel.model_config, "populate_by_name": True}

    @model_validator(mode="after")
    def _check_kind(self) -> RuleConfig:
        problems = _kind_problems(self)
        if problems:
            raise ValueError(f"规则 {self.name}（{self.kind}）：" + "；".join(problems))
        return self


def _kind_problems(rule: RuleConfig) -> list[str]:
    problems = []
    needs_field = rule.kind in ("threshold", "state", "spread", "forecast")
    if needs_field and not rule.field:
        problems.append("必须填写 field")
    if rule.kind in ("threshold", "spread", "forecast"):
        if (rule.above is None) == (rule.below is None):
            problems.append("above 和 below 必须且只能填写一个")
    if rule.kind == "threshold" and rule.above is not None and rule.clear_above is not None:
        if rule.clear_above > rule.above:
            problems.append(f"clear_above（{rule.clear_above:g}）不能大于 above（{rule.above:g}）")
    if rule.kind == "threshold" and rule.below is not None and rule.clear_below is not None:
        if rule.clear_below < rule.below:
            problems.append(f"clear_below（{rule.clear_below:g}）不能小于 below（{rule.below:g}）")
    if rule.kind == "state" and not rule.equals:
        problems.append("必须填写 equals（取值列表）")
    if rule.kind == "absence" and rule.after is None:
        problems.append("必须填写 after（多久没有数据算缺失）")
    return problems


class BuiltinOverride(StrictModel):
    """A site's change to one built-in rule, by name: switch it off or change values."""

    enabled: bool = True
    severity: Severity | None = None
    above: float | None = None
    below: float | None = None
    clear_above: float | None = None
    clear_below: float | None = None
    for_: Duration | None = Field(default=None, alias="for")
    count: Annotated[int, Field(ge=1, le=1000)] | None = None
    days_before: Annotated[int, Field(ge=0, le=3650)] | None = None

    model_config = {**StrictModel.model_config, "populate_by_name": True}


class ForecastConfig(StrictModel):
    """Settings of the battery forecast's projection to cut-off."""

    cutoff_pct: Annotated[float, Field(ge=0, le=90)] = 10.0
    """Charge at which the UPS shuts its output off."""
    min_readings: Annotated[int, Field(ge=2, le=100)] = 3
    min_span: Duration = 10.0
    time_scale: Annotated[float, Field(gt=0, le=10_000)] = 1.0
    """Simulated seconds per wall second: the demo compresses a scenario, so its
    discharge trend must be read in the scenario's time. Always 1 on a real site."""


class FlappingConfig(StrictModel):
    """When a rule changes state so often that it is held and flagged 告警抖动."""

    changes: Annotated[int, Field(ge=2, le=100)] = 4
    window: Duration = 600.0
    quiet: Duration = 600.0
    """The hold ends once the rule has not changed for this long."""


class InterruptionCondition(StrictModel):
    """One way the hotline's telephony counts as interrupted."""

    cause: str
    """Chinese name of the cause, shown in notices (for example 全部中继断开)."""
    measurement: str
    tags: dict[str, str] = {}
    field: str = "up"
    equals: list[float] = [0.0]
    match: Literal["any", "all"] = "any"
    """`all`: every series of the measurement matching the tags must satisfy it."""


class InterruptionConfig(StrictModel):
    """The interruption clock: when the hotline counts as interrupted, and who hears of it."""

    service: Identifier = "hotline"
    conditions: list[InterruptionCondition] = []
    combine: Literal["any", "all"] = "any"
    notices_at: list[Duration] = [600.0, 1200.0, 1500.0]
    limit: Duration = 1800.0
    recipients: list[str] = ["on_duty", "lead", "manager"]
    """Roles (on_duty, lead, manager) or person ids to notify."""
    channels: list[str] = ["wecom", "sms"]


class AlertingConfig(StrictModel):
    """The alerting engine's settings."""

    console: bool = True
    builtin_ups: bool = True
    builtin_hosts: bool = True
    """The pack for servers, service checks and SIP trunks (alerting/host_pack.py)."""
    builtin: dict[str, BuiltinOverride] = {}
    rules: list[RuleConfig] = []
    unreachable_after: Annotated[int, Field(ge=1, le=100)] = 3
    """Consecutive failed polls before a target counts as unreachable."""
    forecast: ForecastConfig = ForecastConfig()
    flapping: FlappingConfig = FlappingConfig()
    repeat_interval: Duration = 1800.0
    group_wait: Annotated[float, Field(ge=0, le=600)] = 0.0
    """Seconds to wait for related alerts of one target before the first message."""
    interruption: InterruptionConfig | None = None
    ack_listen: Annotated[str, Field(pattern=r"^[0-9A-Za-z.:\[\]-]+:\d{1,5}$")] | None = None
    ack_hints: bool = True
    """Put the acknowledgement command and link into pages. A drill turns this off:
    its alert numbers belong to the drill's own state, and acknowledging the same
    number on the site would acknowledge a real alert."""
    ack_secret: str | None = None
    ack_link_ttl: Duration = 86400.0

    @model_validator(mode="after")
    def _check(self) -> AlertingConfig:
        names = [rule.name for rule in self.rules]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"规则名重复：{', '.join(duplicates)}")
        from hotline_monitor.alerting.ups_pack import BUILTIN_NAMES

        unknown = sorted(set(self.builtin) - BUILTIN_NAMES)
        if unknown:
            raise ValueError(
                f"builtin 中的规则 {', '.join(unknown)} 不存在；内置规则有：{', '.join(sorted(BUILTIN_NAMES))}")
        if self.ack_listen and not self.ack_secret:
            raise ValueError("设置了 ack_listen 就必须设置 ack_secret（用 ${env:…} 或 ack_secret_file）")
        if self.ack_secret is not None and len(self.ack_secret) < 16:
            raise ValueError("ack_secret 至少 16 个字符")
        return self
