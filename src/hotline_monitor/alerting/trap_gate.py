"""Hold a trap's claim until polls confirm or contradict it.

A UPS card sends its trap at once but may update its polled values a few
seconds later, so a confirming poll that still shows mains is no reason to
clear the alert the trap raised. While a claim is open, polled values that
contradict it are kept from the alerting engine (they are still stored).
After `confirm_polls` contradicting polls in a row the claim is withdrawn:
the caller retracts the alert with one message. A poll that agrees, or a
poll reading that lacks the claimed fields, ends nothing early.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from hotline_monitor.reading import Reading

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Claim:
    ups: str
    trap_name: str
    fields: dict[str, float]
    since_ns: int
    contradictions: int = 0


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """A claim that polls contradicted `confirm_polls` times in a row."""

    ups: str
    trap_name: str
    fields: dict[str, float]
    polled: dict[str, float]


class TrapGate:
    def __init__(self, confirm_polls: int) -> None:
        self.confirm_polls = confirm_polls
        self.claims: dict[str, Claim] = {}

    def claim(self, ups: str, trap_name: str, fields: dict[str, float], time_ns: int) -> None:
        """Record what a trap asserted about a UPS (replacing an older claim)."""
        self.claims[ups] = Claim(ups, trap_name, dict(fields), time_ns)

    def filter(self, readings: list[Reading]) -> tuple[list[Reading], list[Withdrawal]]:
        """Return the readings the engine may see, and the claims to withdraw."""
        passed: list[Reading] = []
        withdrawals: list[Withdrawal] = []
        for reading in readings:
            claim = self.claims.get(reading.tags.get("ups", "")) if reading.measurement == "ups" else None
            # A trap comes from the SNMP card, so only that card's polls confirm or
            # contradict it; a Modbus path to the same UPS keeps its own alert state.
            from_card = reading.tags.get("source", "snmp") == "snmp"
            if claim is None or not from_card or reading.time_ns < claim.since_ns:
                passed.append(reading)
                continue
            verdict = self._judge(claim, reading)
            if verdict == "contradicts":
                claim.contradictions += 1
                if claim.contradictions >= self.confirm_polls:
                    del self.claims[claim.ups]
                    polled = {key: reading.fields[key] for key in claim.fields}  # type: ignore[misc]
                    withdrawals.append(Withdrawal(claim.ups, claim.trap_name, claim.fields, polled))
                    log.warning("%s: trap %s contradicted by %d polls in a row (polled %s); withdrawing",
                                claim.ups, claim.trap_name, claim.contradictions, polled)
                    passed.append(reading)
                else:
                    passed.append(_without(reading, claim.fields))
            elif verdict == "confirms":
                del self.claims[claim.ups]
                log.info("%s: trap %s confirmed by poll", claim.ups, claim.trap_name)
                passed.append(reading)
            else:
                passed.append(reading)
        return passed, withdrawals

    @staticmethod
    def _judge(claim: Claim, reading: Reading) -> str:
        present = [key for key in claim.fields if isinstance(reading.fields.get(key), float)]
        if not present:
            return "unknown"
        if all(reading.fields[key] == claim.fields[key] for key in present):
            return "confirms"
        return "contradicts"


def _without(reading: Reading, keys: dict[str, float]) -> Reading:
    fields = {key: value for key, value in reading.fields.items() if key not in keys}
    return dataclasses.replace(reading, fields=fields)
