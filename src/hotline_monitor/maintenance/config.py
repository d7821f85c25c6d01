"""Configuration of maintenance windows, bureau notices, the SLA ledger and reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator

from hotline_monitor.config.types import Duration, StrictModel

STANDARD_KINDS = ("线路检修", "工程割接", "网络升级", "设备维护")


class BureauConfig(StrictModel):
    """Recipients of the formal notices and reports: the city data bureau."""

    name: str = "市大数据局"
    email_channel: str | None = None
    """Name of an e-mail channel in `channels`; it sends to every address in `emails`."""
    emails: list[str] = []
    wecom_channel: str | None = None
    """Name of the WeCom group robot channel of the bureau's group."""

    @field_validator("emails")
    @classmethod
    def _check_emails(cls, emails: list[str]) -> list[str]:
        for address in emails:
            if "@" not in address or address.startswith("@") or address.endswith("@"):
                raise ValueError(f"邮箱地址无效：{address!r}")
        return emails

    def has_recipients(self) -> bool:
        return bool((self.email_channel and self.emails) or self.wecom_channel)


class OutageNoticeConfig(StrictModel):
    """Outage notices (故障通报) to the bureau while the hotline is interrupted."""

    first_within: Duration = 600.0
    """The first notice goes out at most this long after the interruption starts."""
    progress_every: Duration = 1800.0
    """Interval between progress notices while the interruption lasts."""
    limit: Duration = 1800.0
    """The contract's limit on one interruption; the recovery notice says whether it held."""


class BackupConfig(StrictModel):
    """Daily online backup of the ledger (and copy of the archive)."""

    folder: Path | None = None
    """Folder for the daily backups; without it no backup is made."""
    keep: Annotated[int, Field(ge=1, le=3650)] = 14
    at_hour: Annotated[int, Field(ge=0, le=23)] = 3
    """Asia/Shanghai hour of the day at which the backup runs."""


class MaintenanceConfig(StrictModel):
    """Maintenance windows, the notices they owe, and the monthly report."""

    notice_hours: Annotated[float, Field(gt=0, le=24 * 30)] = 48.0
    kinds: list[str] = []
    """Site-defined kinds of work, in addition to the four standard ones."""
    reminder_before: Duration = 24 * 3600.0
    outage: OutageNoticeConfig = OutageNoticeConfig()
    backup: BackupConfig = BackupConfig()
    report_day: Annotated[int, Field(ge=1, le=28)] | None = 3
    """Day of the month on which last month's report is sent by itself; null: never."""
    report_hour: Annotated[int, Field(ge=0, le=23)] = 9
    services: list[str] = ["hotline"]
    """Service names a window's scope may name besides UPS, trunk, host and check ids."""

    def all_kinds(self) -> tuple[str, ...]:
        return STANDARD_KINDS + tuple(kind for kind in self.kinds if kind not in STANDARD_KINDS)


def bureau_channel_problems(bureau: BureauConfig, channels: dict[str, Any]) -> list[str]:
    """Check that the bureau's channels exist and are of the right type."""
    problems = []
    for option, name, expected in (("email_channel", bureau.email_channel, ("email", "console")),
                                   ("wecom_channel", bureau.wecom_channel,
                                    ("wecom_robot", "wecom_app", "console"))):
        if name is None:
            continue
        channel = channels.get(name)
        if channel is None and name == "console":
            continue  # the console channel exists without configuration
        if channel is None:
            known = "、".join(sorted(channels)) or "（无）"
            problems.append(f"bureau.{option} 指向的通道 {name!r} 不在 channels 中；"
                            f"已配置：{known}")
        elif getattr(channel, "type", None) not in expected:
            problems.append(f"bureau.{option} 指向的通道 {name!r} 类型为 {channel.type}，"
                            f"应为 {' 或 '.join(expected)}")
    if bureau.email_channel and not bureau.emails:
        problems.append("bureau.email_channel 已设置，但 bureau.emails 为空")
    return problems
