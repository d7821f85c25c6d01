"""Read scalars and walk several table columns at once with GETBULK (GETNEXT on SNMP v1).

All columns advance together, so a UPS's input, output, bypass and alarm
tables come back in one GETBULK when they are short. The scalars ride in the
same GETBULK as non-repeaters (RFC 3416 4.2.3): a GETNEXT of `X` returns
`X.0` when the agent has the scalar, so one request reads the whole UPS. On
SNMP v1 the first GETNEXT carries the scalars the same way. A column stops at the
first OID outside it or at endOfMibView (an agent returns endOfMibView rows
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


async def read_ups(client: SnmpClient, scalars: tuple[str, ...], columns: tuple[str, ...],
                   first_repetitions: int, max_repetitions: int,
                   ) -> tuple[dict[str, ber.Value], Rows]:
    """Return the scalars' values and each column's rows as (index suffix, value).

    The first request asks for `first_repetitions` rows (enough for three
    lines and the end marker); columns still open after it continue with
    `max_repetitions`. Scalars the agent lacks come back as noSuchObject.
    """
    rows: Rows = {column: [] for column in columns}
    cursor = {column: column for column in columns}
    active = list(columns)
    repetitions = first_repetitions
    values: dict[str, ber.Value] | None = None

    for _ in range(MAX_ROUNDS):
        if not active:
            break
        oids = [cursor[column] for column in active]
        try:
            if values is None:
                request = [oid[:-2] for oid in scalars] + oids
                if client.supports_bulk:
                    varbinds = await client.get_bulk(request, repetitions, len(scalars))
                else:
                    # SNMP v1 rejects a whole GET for one missing object; a
                    # GETNEXT returns the next object instead.
                    varbinds = await client.get_next(request)
                values = _scalar_values(scalars, varbinds[:len(scalars)])
                varbinds = varbinds[len(scalars):]
            elif client.supports_bulk:
                varbinds = await client.get_bulk(oids, repetitions)
            else:
                varbinds = await client.get_next(oids)
        except SnmpErrorStatus as err:
            if err.status != _TOO_BIG or repetitions == 1:
                raise
            # The combined response is too big for the agent: read the
            # scalars on their own and walk the tables in smaller steps.
            if values is None:
                values = dict(await client.get(scalars))
            repetitions = max(1, repetitions // 2)
            continue

        if not varbinds:
            log.warning("SNMP agent returned no varbinds for a table request; columns %s skipped",
                        ", ".join(active))
            break
        active = _advance(active, varbinds, rows, cursor)
        repetitions = max_repetitions
    else:
        log.warning("table walk stopped after %d requests; columns still open: %s",
                    MAX_ROUNDS, ", ".join(active))
    return values if values is not None else {}, rows


def _scalar_values(scalars: tuple[str, ...], varbinds: list[ber.VarBind]) -> dict[str, ber.Value]:
    absent: ber.Value = (ber.NO_SUCH_OBJECT, None)
    values = dict.fromkeys(scalars, absent)
    for expected, (oid, value) in zip(scalars, varbinds, strict=False):
        # Anything but `X.0` is the next object in the agent's tree: X is absent.
        if oid == expected:
            values[expected] = value
    return values


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
