"""Vendor profiles: what a known card does differently from RFC 1628.

A profile is chosen by the `profile` key of the UPS's `snmp` section, or else
matched from sysObjectID (exactly) and upsIdentManufacturer (case-insensitive
substring). It may state the card's own scale for line-table columns; every
other object keeps the RFC 1628 units.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class VendorProfile:
    name: str
    description: str
    sys_object_ids: frozenset[str] = frozenset()
    manufacturers: tuple[str, ...] = ()
    line_divisors: dict[tuple[str, str], int] = field(default_factory=dict)
    """(side, field) -> divisor replacing the MIB's, e.g. volts sent in tenths."""


PROFILES: dict[str, VendorProfile] = {
    profile.name: profile
    for profile in (
        VendorProfile(
            name="delta-mini-snmp",
            description="Delta Mini-SNMP 卡：输入、输出、旁路各相电压以 0.1 V 为单位上报",
            # The recorded card returns 2360 for 236.0 V in upsInputVoltage,
            # upsOutputVoltage and upsBypassVoltage, whose MIB unit is 1 V.
            sys_object_ids=frozenset({"1.3.6.1.4.1.2254.2.5"}),
            line_divisors={
                ("input", "voltage_v"): 10,
                ("output", "voltage_v"): 10,
                ("bypass", "voltage_v"): 10,
            },
        ),
        VendorProfile(
            name="rfc1628",
            description="按 RFC 1628 标准单位解读，不做厂商修正",
        ),
    )
}


def match_profile(sys_object_id: str | None, manufacturer: str | None) -> VendorProfile | None:
    """Return the profile whose sysObjectID or manufacturer matches, or None."""
    normalised = sys_object_id.strip(".") if sys_object_id else None
    maker = manufacturer.lower() if manufacturer else ""
    for profile in PROFILES.values():
        if normalised and normalised in profile.sys_object_ids:
            return profile
        if maker and any(name in maker for name in profile.manufacturers):
            return profile
    return None
