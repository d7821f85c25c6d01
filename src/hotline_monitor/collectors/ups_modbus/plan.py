"""Group a map's values into as few read requests as the device allows.

Values of one table are sorted by address and merged into one request while
the request stays within the device's limit (at most 125 registers or 2000
bits) and the unmapped gap between two values is at most `max_gap`: reading a
few unused registers costs far less than another round trip, above all on a
9600-baud serial line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hotline_monitor.collectors.ups_modbus.regmap import BIT_TABLES, RegisterMap, ValueSpec


@dataclass(slots=True)
class ReadRequest:
    """One read: a table, a start address (protocol, 0-based) and a count."""

    table: str
    start: int
    count: int
    values: list[ValueSpec] = field(default_factory=list)

    @property
    def end(self) -> int:
        return self.start + self.count - 1


def plan_requests(regmap: RegisterMap, max_gap: int | None = None) -> list[ReadRequest]:
    """Return the read requests covering every value of the map, in table and address order."""
    gap = regmap.requests.max_gap if max_gap is None else max_gap
    requests: list[ReadRequest] = []
    for table in ("coils", "discrete_inputs", "holding", "input"):
        limit = regmap.requests.max_bits if table in BIT_TABLES else regmap.requests.max_registers
        specs = sorted((spec for spec in regmap.values if spec.table == table),
                       key=regmap.pdu_address)
        current: ReadRequest | None = None
        for spec in specs:
            start = regmap.pdu_address(spec)
            end = start + spec.register_count - 1
            if current is not None and _can_extend(current, start, end, gap, limit):
                current.count = max(current.end, end) - current.start + 1
                current.values.append(spec)
                continue
            current = ReadRequest(table, start, spec.register_count, [spec])
            requests.append(current)
    return requests


def _can_extend(request: ReadRequest, start: int, end: int, gap: int, limit: int) -> bool:
    unused_between = start - request.end - 1
    return unused_between <= gap and end - request.start + 1 <= limit
