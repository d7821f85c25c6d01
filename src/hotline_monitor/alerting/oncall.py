"""The on-call rota: shifts, people, a schedule by date, and escalation chains by severity.

Shift times are Asia/Shanghai wall-clock times. A shift that ends at or before
its start (22:00 to 08:00) runs past midnight and belongs to the date on which
it starts, so the schedule names it under that date.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from hotline_monitor.config.types import Identifier, StrictModel
from hotline_monitor.notify.message import Recipient
from hotline_monitor.timeutil import SHANGHAI

AddressKind = Literal["wecom", "phone", "email", "mention", "none"]
"""The kind of a person's address a channel needs. `mention`: none, but the person's WeCom id is
@-mentioned in the group."""

# The address each configured channel type needs, by the `channels` section's `type`.
ADDRESS_OF_CHANNEL_TYPE: dict[str, AddressKind] = {
    "wecom_app": "wecom", "wecom_robot": "mention", "sms_aliyun": "phone",
    "sms_tencent": "phone", "sms_http": "phone", "email": "email", "console": "none",
}

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class Shift(StrictModel):
    name: str
    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError(f"时间格式无效：{value!r}，应写作 HH:MM（北京时间）")
        return value

    def start_time(self) -> time:
        return time.fromisoformat(self.start)

    def end_time(self) -> time:
        return time.fromisoformat(self.end)


class Person(StrictModel):
    id: Identifier
    name: str
    phone: str = ""
    wecom: str = ""
    email: str = ""


class Duty(StrictModel):
    """The people of one shift: the person on duty and the shift lead."""

    on_duty: Identifier
    lead: Identifier | None = None


class EscalationStep(StrictModel):
    after: Annotated[float, Field(ge=0)] = 0.0
    """Seconds after the alert fired; the step runs only while nobody has acknowledged."""
    to: list[str]
    """Roles (on_duty, lead, manager) or person ids."""
    channels: list[str]

    @field_validator("after", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        from hotline_monitor.timeutil import parse_duration

        return parse_duration(value) if isinstance(value, str) else value


class OncallConfig(StrictModel):
    """The `oncall:` section."""

    shifts: list[Shift] = [
        Shift(name="早班", start="08:00", end="16:00"),
        Shift(name="中班", start="16:00", end="00:00"),
        Shift(name="夜班", start="00:00", end="08:00"),
    ]
    people: list[Person] = []
    manager: Identifier | None = None
    schedule: dict[date, dict[str, Duty]] = {}
    """By date (YYYY-MM-DD), then by shift name."""
    default: dict[str, Duty] = {}
    """By shift name: who works a shift on a date the schedule does not name."""
    escalation: dict[str, list[EscalationStep]] = {}
    """By severity (info, warning, critical, emergency), or `default`."""
    channel_address: dict[str, AddressKind] = {
        "wecom": "wecom", "sms": "phone", "email": "email", "console": "none",
    }
    """The kind of a person's address each channel name needs when no `channels` section
    defines it. A defined channel's type decides instead (wecom_app: wecom, sms_*: phone)."""
    repeat_channels: list[str] = []
    """Channels for reminders of unacknowledged alerts; default: those of the first step."""

    @model_validator(mode="after")
    def _check_references(self) -> OncallConfig:
        problems = _reference_problems(self)
        if problems:
            raise ValueError("；".join(problems))
        return self

    def person(self, person_id: str) -> Person | None:
        return next((person for person in self.people if person.id == person_id), None)

    def steps_for(self, severity: str) -> list[EscalationStep]:
        if severity in self.escalation:
            return self.escalation[severity]
        if "default" in self.escalation:
            # An info alert (a battery due in a month) does not climb the chain
            # to the manager unless the site writes a chain for info.
            steps = self.escalation["default"]
            return steps[:1] if severity == "info" else steps
        return [EscalationStep(after=0, to=["on_duty"], channels=["console"])]


_ROLES = ("on_duty", "lead", "manager")


def _reference_problems(config: OncallConfig) -> list[str]:
    people = {person.id for person in config.people}
    shift_names = {shift.name for shift in config.shifts}
    problems = []

    def check_person(person_id: str | None, where: str) -> None:
        if person_id is not None and person_id not in people:
            problems.append(f"{where} 引用的人员 {person_id!r} 未在 people 中定义")

    check_person(config.manager, "manager")
    rotas = [(f"schedule.{day}", duties) for day, duties in config.schedule.items()]
    for where, duties in [*rotas, ("default", config.default)]:
        for shift_name, duty in duties.items():
            if shift_name not in shift_names:
                problems.append(f"{where} 中的班次 {shift_name!r} 未在 shifts 中定义")
            check_person(duty.on_duty, f"{where}.{shift_name}.on_duty")
            check_person(duty.lead, f"{where}.{shift_name}.lead")
    for severity, steps in config.escalation.items():
        if severity not in ("info", "warning", "critical", "emergency", "default"):
            problems.append(f"escalation 的键 {severity!r} 无效：应为 info、warning、critical、emergency 或 default")
        for index, step in enumerate(steps):
            for name in step.to:
                if name not in _ROLES:
                    check_person(name, f"escalation.{severity}[{index}].to")
    return problems


def channel_problems(oncall: OncallConfig, interruption_channels: list[str],
                     defined: dict[str, str]) -> list[str]:
    """Check the channel names used for paging against the defined ones.

    `defined` maps each channel of the `channels` section to its type. Without
    that section messages go to the console and alerts.jsonl, so any name in
    `channel_address` is accepted.
    """
    known = set(defined) | {"console"} if defined else set(oncall.channel_address)
    used = [(f"oncall.escalation.{severity}[{index}].channels", channel)
            for severity, steps in oncall.escalation.items()
            for index, step in enumerate(steps) for channel in step.channels]
    used += [("alerting.interruption.channels", channel) for channel in interruption_channels]
    problems = []
    for where, channel in used:
        if channel not in known:
            problems.append(f"{where} 中的通道 {channel!r} 未定义，可用：{', '.join(sorted(known))}")
    return problems


def address_kinds(oncall: OncallConfig, defined: dict[str, str]) -> dict[str, AddressKind]:
    """Return the address kind per channel name: by type for defined channels, else configured."""
    kinds = dict(oncall.channel_address)
    for name, channel_type in defined.items():
        kinds[name] = ADDRESS_OF_CHANNEL_TYPE.get(channel_type, "none")
    return kinds


def current_shift(config: OncallConfig, moment: datetime) -> tuple[date, Shift] | None:
    """Find the shift running at `moment`, with the date the shift started on."""
    local = moment.astimezone(SHANGHAI)
    for day in (local.date(), local.date() - timedelta(days=1)):
        for shift in config.shifts:
            start = datetime.combine(day, shift.start_time(), SHANGHAI)
            end = datetime.combine(day, shift.end_time(), SHANGHAI)
            if end <= start:
                end += timedelta(days=1)
            if start <= local < end:
                return day, shift
    return None


def duty_at(config: OncallConfig, moment: datetime) -> tuple[str, Duty | None]:
    """Return the running shift's name and who works it (None when nobody is named)."""
    found = current_shift(config, moment)
    if found is None:
        return "", None
    day, shift = found
    duty = config.schedule.get(day, {}).get(shift.name) or config.default.get(shift.name)
    return shift.name, duty


def people_for(config: OncallConfig, names: list[str], moment: datetime) -> list[str]:
    """Resolve roles and person ids to person ids, in order, without repeats."""
    _, duty = duty_at(config, moment)
    resolved: list[str] = []
    for name in names:
        if name == "on_duty":
            person_id = duty.on_duty if duty else None
        elif name == "lead":
            person_id = duty.lead if duty else None
        elif name == "manager":
            person_id = config.manager
        else:
            person_id = name
        if person_id and person_id not in resolved:
            resolved.append(person_id)
    return resolved


def recipients_for(config: OncallConfig, names: list[str], channels: list[str],
                   moment: datetime, kinds: dict[str, AddressKind] | None = None) -> list[Recipient]:
    """Build one recipient per person and channel; a channel needing no address appears once."""
    recipients: list[Recipient] = []
    person_ids = people_for(config, names, moment)
    kinds = kinds if kinds is not None else config.channel_address
    for channel in channels:
        kind = kinds.get(channel, "none")
        if kind == "none":
            recipients.append(Recipient(channel))
            continue
        if kind == "mention":
            # A group robot: one message to the group, mentioning each person.
            for person_id in person_ids:
                person = config.person(person_id)
                recipients.append(Recipient(channel, "", person.wecom if person else ""))
            continue
        for person_id in person_ids:
            person = config.person(person_id)
            address = getattr(person, kind, "") if person else ""
            if address:
                recipients.append(Recipient(channel, address))
    if not recipients:
        # When no person on the rota resolves, the message still goes to the console.
        recipients.append(Recipient("console"))
    return recipients



def defined_channels(config: object) -> dict[str, str]:
    """Map each channel of the configuration's `channels` section to its type."""
    channels = getattr(config, "channels", None) or {}
    return {name: channel.type for name, channel in channels.items()}


def on_call_recipients(config: object, severity: str) -> list[Recipient]:
    """Return who the first escalation step for `severity` reaches right now.

    For announcements made outside the alerting engine (a server shutdown),
    which must reach the person on shift like the first page of an alert.
    """
    oncall: OncallConfig = config.oncall  # type: ignore[attr-defined]
    step = oncall.steps_for(severity)[0]
    kinds = address_kinds(oncall, defined_channels(config))
    return recipients_for(oncall, step.to, step.channels, datetime.now(SHANGHAI), kinds)
