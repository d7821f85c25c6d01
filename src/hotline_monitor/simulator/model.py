"""The state and physics of a simulated 100 kVA three-phase UPS.

The model keeps a few primary quantities (mains present, bypass, load per
phase, battery charge, battery health, battery temperature) and derives every
value a network card would report from them in `snapshot()`. The alarm table
follows RFC 1628 (upsAlarmTable with the well-known alarm OIDs): it is rebuilt
from the state after every change, so `upsAlarmsPresent` always equals the
number of rows.

Units inside the model are SI (V, A, W, Hz, s, °C, %). The SNMP and Modbus
views scale them the way their protocol documents say.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Literal

# Rating of the simulated unit: 100 kVA / 90 kW, 220/380 V, 50 Hz.
RATED_VA = 100_000.0
POWER_FACTOR = 0.9
PHASES = 3
NOMINAL_VOLTAGE = 220.0
NOMINAL_FREQUENCY = 50.0
INVERTER_EFFICIENCY = 0.95

# Battery string: 40 blocks of 12 V, 40 kWh usable when new.
BATTERY_BLOCKS = 40
BATTERY_ENERGY_WH = 40_000.0
BATTERY_FLOAT_VOLTAGE = 545.0
BATTERY_RESISTANCE_OHM = 0.1
CHARGE_RATE_PCT_PER_S = 1.0 / 60.0
LOW_BATTERY_TIME_S = 300.0
"""upsConfigLowBattTime: the UPS reports batteryLow at or under this runtime."""
LOW_BATTERY_CHARGE_PCT = 20.0
AMBIENT_TEMPERATURE_C = 25.0

# RFC 1628 codes.
OUTPUT_SOURCE_NONE = 2
OUTPUT_SOURCE_NORMAL = 3
OUTPUT_SOURCE_BYPASS = 4
OUTPUT_SOURCE_BATTERY = 5
BATTERY_NORMAL = 2
BATTERY_LOW = 3
BATTERY_DEPLETED = 4

UPS_MIB = "1.3.6.1.2.1.33"
WELL_KNOWN_ALARMS = f"{UPS_MIB}.1.6.3"
ALARM_OIDS = {
    "battery_bad": f"{WELL_KNOWN_ALARMS}.1",
    "on_battery": f"{WELL_KNOWN_ALARMS}.2",
    "low_battery": f"{WELL_KNOWN_ALARMS}.3",
    "depleted_battery": f"{WELL_KNOWN_ALARMS}.4",
    "temp_bad": f"{WELL_KNOWN_ALARMS}.5",
    "input_bad": f"{WELL_KNOWN_ALARMS}.6",
    "output_bad": f"{WELL_KNOWN_ALARMS}.7",
    "output_overload": f"{WELL_KNOWN_ALARMS}.8",
    "on_bypass": f"{WELL_KNOWN_ALARMS}.9",
}
"""RFC 1628 upsWellKnownAlarms used by the simulator (upsAlarmBatteryBad … upsAlarmOnBypass)."""

# RFC 1628 upsTestResultsSummary codes.
TEST_RESULTS = {"done_pass": 1, "done_warning": 2, "done_error": 3, "aborted": 4,
                "in_progress": 5, "no_tests_initiated": 6}

FaultKind = Literal["null", "sentinel"]
FAULTABLE_VALUES = (
    "output_source", "battery_status", "charge_pct", "runtime_s", "seconds_on_battery",
    "battery_voltage", "battery_current", "battery_temperature", "input_frequency",
    "output_frequency", "bypass_frequency", "input_voltage", "input_current",
    "output_voltage", "output_current", "output_power", "load_pct", "bypass_voltage",
    "alarms_present",
)
"""Values a scenario may turn into a sensor fault (line values apply to every phase)."""


@dataclass(slots=True)
class Alarm:
    """One row of upsAlarmTable."""

    alarm_id: int
    name: str
    oid: str
    uptime_cs: int
    """upsAlarmTime: sysUpTime in hundredths of a second when the alarm was added."""


@dataclass(frozen=True, slots=True)
class Line:
    """Values of one phase: input, output and bypass side."""

    input_voltage: float
    input_current: float
    input_power: float
    output_voltage: float
    output_current: float
    output_power: float
    load_pct: float
    bypass_voltage: float
    bypass_current: float
    bypass_power: float


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every value the UPS reports at one instant, in SI units.

    `faults` names values that a broken sensor reports as Null or as a
    sentinel; the protocol views encode those instead of the number.
    """

    output_source: int
    battery_status: int
    charge_pct: float
    runtime_s: float
    seconds_on_battery: float
    battery_voltage: float
    battery_current: float
    battery_temperature: float
    input_frequency: float
    output_frequency: float
    bypass_frequency: float
    input_line_bads: int
    lines: tuple[Line, ...]
    alarms: tuple[Alarm, ...]
    faults: dict[str, FaultKind]
    test_result: int
    test_detail: str
    test_id: int
    uptime_cs: int

    @property
    def on_battery(self) -> bool:
        return self.output_source == OUTPUT_SOURCE_BATTERY

    @property
    def on_bypass(self) -> bool:
        return self.output_source == OUTPUT_SOURCE_BYPASS


@dataclass
class UpsModel:
    """A simulated UPS; advance it with `step(seconds)` and read it with `snapshot()`."""

    load_pct: list[float] = field(default_factory=lambda: [45.0, 48.0, 42.0])
    mains_ok: bool = True
    bypass_requested: bool = False
    charge_pct: float = 100.0
    battery_health: float = 1.0
    """Share of the rated battery energy still available (1.0 new, 0.3 worn out)."""
    battery_temperature: float = AMBIENT_TEMPERATURE_C
    seconds_on_battery: float = 0.0
    input_line_bads: int = 0
    faults: dict[str, FaultKind] = field(default_factory=dict)
    test_result: int = TEST_RESULTS["no_tests_initiated"]
    test_detail: str = ""
    test_id: int = 1
    uptime_s: float = 0.0
    alarms: dict[str, Alarm] = field(default_factory=dict)
    _alarm_ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.update_alarms()

    # Physics ----------------------------------------------------------------

    def output_power_w(self) -> float:
        return sum(RATED_VA / PHASES * pct / 100.0 * POWER_FACTOR for pct in self.load_pct)

    @property
    def output_source(self) -> int:
        if not self.mains_ok:
            return OUTPUT_SOURCE_BATTERY
        if self.bypass_requested or max(self.load_pct) > 110.0:
            # Above 110 % the inverter cannot carry the load and the static switch
            # moves it to bypass, as double-conversion units do.
            return OUTPUT_SOURCE_BYPASS
        return OUTPUT_SOURCE_NORMAL

    def step(self, seconds: float) -> None:
        """Advance the physics by `seconds` of simulated time."""
        self.uptime_s += seconds
        if self.output_source == OUTPUT_SOURCE_BATTERY:
            self.seconds_on_battery += seconds
            drawn_wh = self.output_power_w() / INVERTER_EFFICIENCY * seconds / 3600.0
            usable_wh = BATTERY_ENERGY_WH * self.battery_health
            self.charge_pct = max(0.0, self.charge_pct - drawn_wh / usable_wh * 100.0)
            self.battery_temperature = min(AMBIENT_TEMPERATURE_C + 8.0,
                                           self.battery_temperature + 0.004 * seconds)
        else:
            self.seconds_on_battery = 0.0
            self.charge_pct = min(100.0, self.charge_pct + CHARGE_RATE_PCT_PER_S * seconds)
            self.battery_temperature = max(AMBIENT_TEMPERATURE_C,
                                           self.battery_temperature - 0.002 * seconds)
        self.update_alarms()

    def set_mains(self, present: bool) -> None:
        if self.mains_ok and not present:
            self.input_line_bads += 1
        self.mains_ok = present
        self.update_alarms()

    def runtime_s(self) -> float:
        """The UPS's own runtime estimate.

        The card computes it from the charge and the battery's rated energy,
        not from the measured discharge, so a worn battery (health < 1) makes
        the estimate optimistic: this is the `aged-battery` scenario.
        """
        load_w = max(self.output_power_w() / INVERTER_EFFICIENCY, 1000.0)
        return self.charge_pct / 100.0 * BATTERY_ENERGY_WH * 3600.0 / load_w

    def battery_status(self) -> int:
        if self.charge_pct <= 0.0:
            return BATTERY_DEPLETED
        if self.charge_pct <= LOW_BATTERY_CHARGE_PCT or self.runtime_s() <= LOW_BATTERY_TIME_S:
            return BATTERY_LOW
        return BATTERY_NORMAL

    def battery_current_a(self) -> float:
        """Battery current; negative while discharging (the sign DESIGN.md stores)."""
        if self.output_source == OUTPUT_SOURCE_BATTERY:
            return -self.output_power_w() / INVERTER_EFFICIENCY / self._open_circuit_voltage()
        return 2.0 if self.charge_pct < 100.0 else 0.0

    def _open_circuit_voltage(self) -> float:
        # 11.7 V a block when empty to 12.9 V when full.
        return BATTERY_BLOCKS * (11.7 + 1.2 * self.charge_pct / 100.0)

    def battery_voltage_v(self) -> float:
        if self.output_source == OUTPUT_SOURCE_BATTERY:
            # Terminal voltage sags under load by the string's internal resistance.
            return self._open_circuit_voltage() + self.battery_current_a() * BATTERY_RESISTANCE_OHM
        return BATTERY_FLOAT_VOLTAGE if self.charge_pct >= 100.0 else BATTERY_FLOAT_VOLTAGE - 5.0

    # Alarms -----------------------------------------------------------------

    def active_alarm_names(self) -> list[str]:
        names = []
        source = self.output_source
        status = self.battery_status()
        if source == OUTPUT_SOURCE_BATTERY:
            names.append("on_battery")
        if not self.mains_ok:
            names.append("input_bad")
        if status == BATTERY_LOW:
            names.append("low_battery")
        if status == BATTERY_DEPLETED:
            names.append("depleted_battery")
        if source == OUTPUT_SOURCE_BYPASS:
            names.append("on_bypass")
        if max(self.load_pct) > 100.0:
            names.append("output_overload")
        if self.battery_health < 0.5:
            names.append("battery_bad")
        return names

    def update_alarms(self) -> tuple[list[Alarm], list[Alarm]]:
        """Bring the alarm table in line with the state; return (added, removed) rows."""
        wanted = self.active_alarm_names()
        removed = [self.alarms.pop(name) for name in list(self.alarms) if name not in wanted]
        added = []
        for name in wanted:
            if name not in self.alarms:
                alarm = Alarm(next(self._alarm_ids), name, ALARM_OIDS[name],
                              int(self.uptime_s * 100))
                self.alarms[name] = alarm
                added.append(alarm)
        return added, removed

    # Views ------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        source = self.output_source
        lines = tuple(self._line(index) for index in range(PHASES))
        mains_frequency = NOMINAL_FREQUENCY if self.mains_ok else 0.0
        return Snapshot(
            output_source=source,
            battery_status=self.battery_status(),
            charge_pct=self.charge_pct,
            runtime_s=self.runtime_s(),
            seconds_on_battery=self.seconds_on_battery,
            battery_voltage=self.battery_voltage_v(),
            battery_current=self.battery_current_a(),
            battery_temperature=self.battery_temperature,
            input_frequency=mains_frequency,
            output_frequency=NOMINAL_FREQUENCY,
            bypass_frequency=mains_frequency,
            input_line_bads=self.input_line_bads,
            lines=lines,
            alarms=tuple(sorted(self.alarms.values(), key=lambda alarm: alarm.alarm_id)),
            faults=dict(self.faults),
            test_result=self.test_result,
            test_detail=self.test_detail,
            test_id=self.test_id,
            uptime_cs=int(self.uptime_s * 100),
        )

    def _line(self, index: int) -> Line:
        load = self.load_pct[index]
        apparent = RATED_VA / PHASES * load / 100.0
        output_power = apparent * POWER_FACTOR
        output_current = apparent / NOMINAL_VOLTAGE
        source = self.output_source
        mains_voltage = NOMINAL_VOLTAGE if self.mains_ok else 0.0

        if source == OUTPUT_SOURCE_NORMAL:
            charging_w = 0.0 if self.charge_pct >= 100.0 else 2.0 * BATTERY_FLOAT_VOLTAGE / PHASES
            input_power = output_power / INVERTER_EFFICIENCY + charging_w
        elif source == OUTPUT_SOURCE_BYPASS:
            input_power = output_power
        else:
            input_power = 0.0
        input_current = input_power / NOMINAL_VOLTAGE if self.mains_ok else 0.0
        on_bypass = source == OUTPUT_SOURCE_BYPASS

        return Line(
            input_voltage=mains_voltage,
            input_current=input_current,
            input_power=input_power,
            output_voltage=NOMINAL_VOLTAGE,
            output_current=output_current,
            output_power=output_power,
            load_pct=load,
            bypass_voltage=mains_voltage,
            bypass_current=output_current if on_bypass else 0.0,
            bypass_power=output_power if on_bypass else 0.0,
        )
