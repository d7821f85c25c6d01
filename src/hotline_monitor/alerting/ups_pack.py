"""The built-in UPS rule pack, switched on by default.

A site switches a rule off or changes its values by name under
`alerting.builtin`. Codes are those of RFC 1628: upsOutputSource battery(5)
and bypass(4), upsBatteryStatus batteryLow(3) and batteryDepleted(4).
The thresholds are common defaults for a double-conversion UPS of this size,
to be tuned per site. They are output load over 90 % of rating, phase voltage
outside 220 V ± 10 % (198–242 V), phase imbalance over 20 %, and battery
temperature over 40 °C, because VRLA batteries age fast when kept hot.
"""

from __future__ import annotations

from hotline_monitor.alerting.config import AlertingConfig, BuiltinOverride, RuleConfig
from hotline_monitor.alerting.host_pack import HOST_PACK

_OUTPUT_LINES = {"side": "output"}

UPS_PACK: tuple[RuleConfig, ...] = (
    RuleConfig(name="ups_on_battery", kind="state", severity="critical", field="output_source",
               equals=[5.0], summary="市电中断，UPS 转电池供电", resolved="市电恢复"),
    RuleConfig(name="ups_on_bypass", kind="state", severity="warning", field="output_source",
               equals=[4.0], summary="UPS 转旁路供电，负载失去电池保护", resolved="退出旁路"),
    # A depleted battery (4) is still low: clearing on 3 -> 4 would be a false all-clear.
    RuleConfig(name="ups_battery_low", kind="state", severity="critical", field="battery_status",
               equals=[3.0, 4.0], summary="UPS 电池电量低", resolved="电池电量恢复"),
    RuleConfig(name="ups_battery_depleted", kind="state", severity="emergency",
               field="battery_status", equals=[4.0], summary="UPS 电池耗尽，即将断电",
               resolved="电池不再耗尽"),
    RuleConfig(name="ups_runtime_low", kind="forecast", severity="critical", field="runtime_s",
               below=1800.0, clear_below=2100.0,
               summary="剩余后备时间 {value_minutes}（{detail}），低于 {threshold_minutes}",
               resolved="后备时间恢复"),
    RuleConfig(name="ups_output_overload", kind="threshold", severity="critical",
               measurement="ups_line", tags=_OUTPUT_LINES, field="load_pct", above=90.0,
               clear_above=85.0, for_=10.0, summary="第 {line} 相输出负载 {value:.0f}%，超过 {threshold:g}%",
               resolved="负载恢复正常"),
    RuleConfig(name="ups_output_voltage_high", kind="threshold", severity="warning",
               measurement="ups_line", tags=_OUTPUT_LINES, field="voltage_v", above=242.0,
               clear_above=238.0, for_=10.0,
               summary="第 {line} 相输出电压 {value:.0f} V，高于 {threshold:g} V",
               resolved="输出电压恢复正常"),
    RuleConfig(name="ups_output_voltage_low", kind="threshold", severity="warning",
               measurement="ups_line", tags=_OUTPUT_LINES, field="voltage_v", below=198.0,
               clear_below=202.0, for_=10.0,
               summary="第 {line} 相输出电压 {value:.0f} V，低于 {threshold:g} V",
               resolved="输出电压恢复正常"),
    RuleConfig(name="ups_phase_imbalance", kind="spread", severity="warning",
               measurement="ups_line", tags=_OUTPUT_LINES, field="load_pct", above=20.0,
               clear_above=15.0, summary="三相输出负载不平衡 {value:.0f}%，超过 {threshold:g}%",
               resolved="三相负载恢复平衡"),
    RuleConfig(name="ups_battery_temperature", kind="threshold", severity="warning",
               field="battery_temperature_c", above=40.0, clear_above=37.0, for_=60.0,
               summary="电池温度 {value:.0f} °C，高于 {threshold:g} °C", resolved="电池温度恢复正常"),
    RuleConfig(name="ups_alarms_present", kind="threshold", severity="warning",
               field="alarms_present", above=0.0, summary="UPS 有 {value:.0f} 项告警",
               resolved="UPS 告警已清除"),
    RuleConfig(name="ups_battery_replace_due", kind="date", severity="info", days_before=30,
               summary="电池更换期限 {due}，还剩 {value:.0f} 天", resolved="电池更换期限已更新"),
    RuleConfig(name="ups_unreachable", kind="state", severity="critical", measurement="target",
               tags={"kind": "ups*"}, target_tag="target", field="up", equals=[0.0], count=3,
               summary="UPS 通信中断，连续 {count} 次轮询无应答", resolved="通信恢复"),
)

BUILTIN_NAMES = frozenset(rule.name for rule in (*UPS_PACK, *HOST_PACK))


def _apply_override(rule: RuleConfig, override: BuiltinOverride) -> RuleConfig:
    changes = override.model_dump(exclude_unset=True, by_alias=False)
    return rule.model_copy(update=changes)


def active_rules(alerting: AlertingConfig) -> list[RuleConfig]:
    """Return the built-in packs with the site's overrides, followed by the site's own rules."""
    rules: list[RuleConfig] = []
    if alerting.builtin_ups:
        for rule in UPS_PACK:
            override = alerting.builtin.get(rule.name)
            if rule.name == "ups_unreachable" and (override is None or override.count is None):
                rule = rule.model_copy(update={"count": alerting.unreachable_after})
            if override is not None:
                rule = _apply_override(rule, override)
            rules.append(rule)
    if alerting.builtin_hosts:
        for rule in HOST_PACK:
            override = alerting.builtin.get(rule.name)
            rules.append(_apply_override(rule, override) if override is not None else rule)
    own = {rule.name for rule in alerting.rules}
    rules = [rule for rule in rules if rule.name not in own]
    return [*rules, *alerting.rules]
