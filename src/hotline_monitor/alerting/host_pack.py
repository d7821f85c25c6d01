"""The built-in rule pack for servers, service checks and SIP trunks.

The rules read what the host, check and sip_trunk collectors write (the
fields are listed in docs/hosts-and-trunks.md). "Every trunk down" is not a
rule here: it is a condition of the interruption clock (`sip_trunk.up` with
`match: all`), which has its own notices and the 30-minute limit.
"""

from __future__ import annotations

from hotline_monitor.alerting.config import RuleConfig

DAY_S = 86400.0

HOST_PACK: tuple[RuleConfig, ...] = (
    # disk_forecast.time_to_full_s is capped at a year, so the alert resolves
    # once the disk stops filling. Two readings in a row keep one burst of
    # writes from paging anyone.
    RuleConfig(name="host_disk_full_soon", kind="threshold", severity="critical",
               measurement="disk_forecast", field="time_to_full_s", target_tag="host",
               below=DAY_S, clear_below=2 * DAY_S, count=2,
               summary="{host} 磁盘 {path} 按近期增长速度约 {value_minutes}后写满",
               resolved="磁盘增长放缓"),
    RuleConfig(name="host_disk_used", kind="threshold", severity="warning", measurement="disk",
               field="used_percent", target_tag="host", above=90.0, clear_above=85.0,
               for_=300.0, summary="{host} 磁盘 {path} 已用 {value:.0f}%，超过 {threshold:g}%",
               resolved="磁盘使用率恢复正常"),
    RuleConfig(name="host_memory_low", kind="threshold", severity="warning", measurement="mem",
               field="available_percent", target_tag="host", below=10.0, clear_below=15.0,
               for_=300.0, summary="{host} 可用内存仅 {value:.0f}%，低于 {threshold:g}%",
               resolved="可用内存恢复"),
    RuleConfig(name="host_process_down", kind="state", severity="critical", measurement="check",
               tags={"kind": "process"}, field="up", target_tag="check", equals=[0.0], count=2,
               summary="{check} 未运行（连续 {count} 次检查）", resolved="进程已恢复运行"),
    # kind tcp, http or icmp: the process checks have their own rule above.
    RuleConfig(name="service_check_down", kind="state", severity="critical", measurement="check",
               tags={"kind": "[thi]*"}, field="up", target_tag="check", equals=[0.0], count=3,
               summary="服务检查 {check}（{kind}）连续 {count} 次失败", resolved="服务检查恢复"),
    RuleConfig(name="certificate_expiring", kind="threshold", severity="warning",
               measurement="check", field="cert_days_left", target_tag="check", below=30.0,
               clear_below=31.0, summary="{check} 的 TLS 证书 {value:.0f} 天后过期",
               resolved="证书已更新"),
    RuleConfig(name="certificate_expired", kind="threshold", severity="critical",
               measurement="check", field="cert_days_left", target_tag="check", below=0.0,
               clear_below=1.0, summary="{check} 的 TLS 证书已过期", resolved="证书已更新"),
    # up is written as 0 only after failures_before_down failed probes, so the
    # trunk's own threshold already debounces this rule.
    RuleConfig(name="sip_trunk_down", kind="state", severity="critical", measurement="sip_trunk",
               field="up", target_tag="trunk", equals=[0.0],
               summary="SIP 中继 {trunk} 断开，OPTIONS 探测连续失败",
               resolved="中继恢复"),
)
