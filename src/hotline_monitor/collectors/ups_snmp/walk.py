"""Walk several table columns at once with GETBULK (GETNEXT on SNMP v1).

All columns advance together, so a UPS's input, output, bypass and alarm
tables come back in one GETBULK when they are short. A column stops at the
first OID outside it or at endOfMibView (an agent answers endOfMibView rows
past its last OID), and also when the agent does not advance, so a broken
agent cannot loop us.
"""

from __future__ import annotations

import logging

from hotline_monitor.collectors.ups_snmp import ber
from hotline_monitor.collectors.ups_snmp.client import SnmpClient, SnmpErrorStatus

log = logging.getLogger(__name__)

MAX_ROWS_PER_COLUMN = 64
MAX_ROUNDS = 70
_TOO_BIG = 1

Rows = dict[str, list[tuple[str, ber.Value]]]


def _oid_key(oid: str) -> tuple[int, ...]:
    return tuple(int(arc) for arc in oid.split("."))


async def walk_columns(client: SnmpClient, columns: tuple[str, ...], first_repetitions: int,
                       max_repetitions: int) -> Rows:
    """Return each column's rows as (index suffix, value), in the agent's order.

    The first request asks for `first_repetitions` rows (enough for three
    lines and the end marker); columns still open after it continue with
    `max_repetitions`.
    """
    rows: Rows = {column: [] for column in columns}
    cursor = {column: column for column in columns}
    active = list(columns)
    repetitions = first_repetitions

    for _ in range(MAX_ROUNDS):
        if not active:
            break
        oids = [cursor[column] for column in active]
        try:
            if client.supports_bulk:
                varbinds = await client.get_bulk(oids, repetitions)
            else:
                varbinds = await client.get_next(oids)
        except SnmpErrorStatus as err:
            if err.status != _TOO_BIG or repetitions == 1:
                raise
            repetitions = max(1, repetitions // 2)
            continue

        if not varbinds:
            log.warning("SNMP agent answered a table request with no varbinds; columns %s skipped",
                        ", ".join(active))
            break
        active = _advance(active, varbinds, rows, cursor)
        repetitions = max_repetitions
    else:
        log.warning("table walk stopped after %d requests; columns still open: %s",
                    MAX_ROUNDS, ", ".join(active))
    return rows


def _advance(active: list[str], varbinds: list[ber.VarBind], rows: Rows,
             cursor: dict[str, str]) -> list[str]:
    """Record one response's rows; return the columns that may have more."""
    width = len(active)
    closed: set[str] = set()

    for position, (oid, value) in enumerate(varbinds):
        column = active[position % width]
        if column in closed:
            continue
        if value[0] == ber.END_OF_MIB_VIEW or not oid.startswith(column + "."):
            closed.add(column)
            continue
        if _oid_key(oid) <= _oid_key(cursor[column]):
            log.warning("SNMP agent returned %s after %s: OIDs not increasing, column %s stopped",
                        oid, cursor[column], column)
            closed.add(column)
            continue
        rows[column].append((oid[len(column) + 1:], value))
        cursor[column] = oid
        if len(rows[column]) >= MAX_ROWS_PER_COLUMN:
            closed.add(column)

    # A column with no varbind in a shortened GETBULK response stays open and
    # continues next round from its cursor.
    return [column for column in active if column not in closed]
