"""English descriptions for `GET DESC`, worded as in NUT 2.8.0's cmdvartab where it has the variable."""

from __future__ import annotations

import re

DESCRIPTIONS = {
    "battery.charge": "Battery charge (percent of full)",
    "battery.current": "Battery current (A)",
    "battery.runtime": "Battery runtime (seconds)",
    "battery.runtime.low": "Remaining battery runtime when UPS switches to LB (seconds)",
    "battery.temperature": "Battery temperature (degrees C)",
    "battery.voltage": "Battery voltage (V)",
    "device.mfr": "Description unavailable",
    "device.model": "Description unavailable",
    "device.type": "Device type (ups, pdu, scd, psu, ats)",
    "driver.name": "Driver name",
    "driver.version": "Driver version - NUT release",
    "input.bypass.frequency": "Bypass input frequency (Hz)",
    "input.bypass.voltage": "Bypass input voltage (V)",
    "input.current": "Input current (A)",
    "input.frequency": "Input line frequency (Hz)",
    "input.phases": "Input phases",
    "input.realpower": "Current sum value of all (ePDU) phases real power (W)",
    "input.voltage": "Input voltage (V)",
    "output.current": "Output current (A)",
    "output.frequency": "Output frequency (Hz)",
    "output.phases": "Output phases",
    "output.realpower": "Output real power (W)",
    "output.voltage": "Output voltage (V)",
    "ups.firmware": "UPS firmware",
    "ups.load": "Load on UPS (percent of full)",
    "ups.mfr": "UPS manufacturer",
    "ups.model": "UPS model",
    "ups.status": "UPS status",
}

# Per-phase names share the description of the single-phase name (input.L2-N.voltage -> input.voltage).
_PHASE = re.compile(r"\.L\d(-N)?\.")


def describe_variable(name: str) -> str:
    key = name.lower()
    if key in DESCRIPTIONS:
        return DESCRIPTIONS[key]
    single = _PHASE.sub(".", key)
    return DESCRIPTIONS.get(single, "Description unavailable")
