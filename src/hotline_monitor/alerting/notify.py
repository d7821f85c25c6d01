"""Where alert messages go before the channel layer exists: console and alert log."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from hotline_monitor.timeutil import local_text

SEVERITY_NAMES = {"info": "提示", "warning": "警告", "critical": "严重", "emergency": "紧急"}


@dataclass(slots=True)
class AlertMessage:
    """One alert event: firing or resolved, with its Chinese text."""

    rule: str
    target: str
    severity: str
    state: str
    """`firing`, `resolved`, or `withdrawn` (a trap's alert that polls contradicted)."""
    text: str
    time_ns: int
    duration_s: float | None = None

    def headline(self) -> str:
        if self.state == "resolved":
            tag = "恢复"
        elif self.state == "withdrawn":
            tag = "撤回"
        else:
            tag = SEVERITY_NAMES.get(self.severity, self.severity)
        return f"【{tag}】{local_text(self.time_ns)} {self.text}"


class AlertLog:
    """Appends every alert event as one JSON line to `alerts.jsonl`; echoes to the console."""

    def __init__(self, path: Path, console: bool = True) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.console = console

    def send(self, message: AlertMessage) -> None:
        record = asdict(message)
        record["headline"] = message.headline()
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
        if self.console:
            print(message.headline(), file=sys.stdout, flush=True)
