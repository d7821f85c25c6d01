"""Trap OIDs we act on, written as numbers from the public MIB texts.

Sources (the MIB modules themselves; nothing is downloaded at run time):
- RFC 1628 (UPS-MIB), section 5: upsTraps 1.3.6.1.2.1.33.2.
- APC PowerNet-MIB: v1 traps of ENTERPRISE apc (1.3.6.1.4.1.318), specific
  codes 5 upsOnBattery, 7 lowBattery, 9 powerRestored, 11 returnFromLowBattery,
  2 upsOverload, 33 upsOverloadCleared, 21 softwareBypass, 22 switchedBypass,
  23 returnFromBypass. RFC 3584 maps a v1 trap to enterprise.0.specific.
- PPC XPPC-MIB (enterprise 935), used by INVT NetAgent cards: the same
  numbering as PowerNet for 5 upsOnBattery, 7 lowBattery, 9 powerRestored,
  11 returnFromLowBattery, 2 upsOverLoad, 28 upsLoadNormal, 32 upsBypass,
  53 upsBypassReturn.
- Eaton XUPS-MIB (enterprise 534): three families with the same codes,
  xupstb (1.3.6.1.4.1.534.1.0.0.0.N), xupstd (534.1.11.4.1.0.N) and
  xupstp (534.1.11.4.2.0.N); N = 3 OnBattery, 4 LowBattery,
  5 UtilityPowerRestored, 6 ReturnFromLowBattery, 7 OutputOverload,
  11 OnBypass, 21 AlarmEntryAdded, 22 AlarmEntryRemoved.
Huawei's UPS trap definitions are not public in a form we could check, so
Huawei cards are covered through their RFC 1628 traps only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TrapEvent(StrEnum):
    ON_BATTERY = "on_battery"
    POWER_RESTORED = "power_restored"
    BATTERY_LOW = "battery_low"
    BATTERY_RECOVERED = "battery_recovered"
    OVERLOAD = "overload"
    OVERLOAD_CLEARED = "overload_cleared"
    ON_BYPASS = "on_bypass"
    BYPASS_RETURN = "bypass_return"
    ALARM_ADDED = "alarm_added"
    ALARM_REMOVED = "alarm_removed"
    TEST_COMPLETED = "test_completed"


@dataclass(frozen=True, slots=True)
class TrapDefinition:
    name: str
    """The MIB's name for the notification, e.g. `PowerNet-MIB::upsOnBattery`."""
    event: TrapEvent


UPS_MIB_TRAPS = "1.3.6.1.2.1.33.2"
# RFC 1628 upsAlarmDescr: the alarm's OID, carried in alarm-entry traps.
UPS_ALARM_DESCR = "1.3.6.1.2.1.33.1.6.2.1.2"

_DEFINITIONS: dict[str, TrapDefinition] = {
    f"{UPS_MIB_TRAPS}.1": TrapDefinition("UPS-MIB::upsTrapOnBattery", TrapEvent.ON_BATTERY),
    f"{UPS_MIB_TRAPS}.2": TrapDefinition("UPS-MIB::upsTrapTestCompleted", TrapEvent.TEST_COMPLETED),
    f"{UPS_MIB_TRAPS}.3": TrapDefinition("UPS-MIB::upsTrapAlarmEntryAdded", TrapEvent.ALARM_ADDED),
    f"{UPS_MIB_TRAPS}.4": TrapDefinition("UPS-MIB::upsTrapAlarmEntryRemoved", TrapEvent.ALARM_REMOVED),
}

_POWERNET_LIKE = {
    5: ("upsOnBattery", TrapEvent.ON_BATTERY),
    7: ("lowBattery", TrapEvent.BATTERY_LOW),
    9: ("powerRestored", TrapEvent.POWER_RESTORED),
    11: ("returnFromLowBattery", TrapEvent.BATTERY_RECOVERED),
    2: ("upsOverload", TrapEvent.OVERLOAD),
}
for code, (name, event) in _POWERNET_LIKE.items():
    _DEFINITIONS[f"1.3.6.1.4.1.318.0.{code}"] = TrapDefinition(f"PowerNet-MIB::{name}", event)
    _DEFINITIONS[f"1.3.6.1.4.1.935.0.{code}"] = TrapDefinition(f"XPPC-MIB::{name}", event)

for code, name, event in (
    (33, "upsOverloadCleared", TrapEvent.OVERLOAD_CLEARED),
    (21, "softwareBypass", TrapEvent.ON_BYPASS),
    (22, "switchedBypass", TrapEvent.ON_BYPASS),
    (23, "returnFromBypass", TrapEvent.BYPASS_RETURN),
):
    _DEFINITIONS[f"1.3.6.1.4.1.318.0.{code}"] = TrapDefinition(f"PowerNet-MIB::{name}", event)

for code, name, event in (
    (28, "upsLoadNormal", TrapEvent.OVERLOAD_CLEARED),
    (32, "upsBypass", TrapEvent.ON_BYPASS),
    (53, "upsBypassReturn", TrapEvent.BYPASS_RETURN),
):
    _DEFINITIONS[f"1.3.6.1.4.1.935.0.{code}"] = TrapDefinition(f"XPPC-MIB::{name}", event)

_XUPS_CODES = {
    3: ("OnBattery", TrapEvent.ON_BATTERY),
    4: ("LowBattery", TrapEvent.BATTERY_LOW),
    5: ("UtilityPowerRestored", TrapEvent.POWER_RESTORED),
    6: ("ReturnFromLowBattery", TrapEvent.BATTERY_RECOVERED),
    7: ("OutputOverload", TrapEvent.OVERLOAD),
    11: ("OnBypass", TrapEvent.ON_BYPASS),
    21: ("AlarmEntryAdded", TrapEvent.ALARM_ADDED),
    22: ("AlarmEntryRemoved", TrapEvent.ALARM_REMOVED),
}
for prefix, family in (
    ("1.3.6.1.4.1.534.1.0.0.0", "xupstb"),
    ("1.3.6.1.4.1.534.1.11.4.1.0", "xupstd"),
    ("1.3.6.1.4.1.534.1.11.4.2.0", "xupstp"),
):
    for code, (name, event) in _XUPS_CODES.items():
        _DEFINITIONS[f"{prefix}.{code}"] = TrapDefinition(f"XUPS-MIB::{family}{name}", event)


def lookup(trap_oid: str) -> TrapDefinition | None:
    """Return what a trap OID (snmpTrapOID.0's value) means, or None if we do not act on it."""
    return _DEFINITIONS.get(trap_oid)


def known_trap_oids() -> list[str]:
    return sorted(_DEFINITIONS)
