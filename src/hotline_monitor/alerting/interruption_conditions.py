"""One interruption condition, evaluated over the latest value of every series it reads."""

from __future__ import annotations

import fnmatch

from hotline_monitor.alerting.config import InterruptionCondition
from hotline_monitor.reading import Reading


class ConditionState:
    """The latest value of the condition's field per series, and whether it holds."""

    def __init__(self, config: InterruptionCondition) -> None:
        self.config = config
        self.latest: dict[tuple[tuple[str, str], ...], float] = {}

    def observe(self, reading: Reading) -> bool:
        """Take one reading; return True when it belongs to this condition."""
        if reading.measurement != self.config.measurement:
            return False
        for key, wanted in self.config.tags.items():
            if not fnmatch.fnmatchcase(reading.tags.get(key, ""), wanted):
                return False
        value = reading.fields.get(self.config.field)
        if not isinstance(value, float):
            # Unknown: the last known value stands, so a blank reading neither
            # starts nor ends an interruption.
            return False
        series = tuple(sorted((k, v) for k, v in reading.tags.items() if k != "site"))
        self.latest[series] = value
        return True

    def known(self) -> bool:
        return bool(self.latest)

    def holds(self) -> bool:
        if not self.latest:
            return False
        matching = [value in self.config.equals for value in self.latest.values()]
        return all(matching) if self.config.match == "all" else any(matching)
