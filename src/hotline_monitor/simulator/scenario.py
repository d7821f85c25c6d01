"""Scenarios: YAML timelines of what happens to the simulated UPS.

A scenario file (`simulator/scenarios/NAME.yaml`) has a Chinese title, the
initial state, steps at simulated times and the alerts the agent is expected
to raise. Changes that follow from the physics (battery low, depleted) are
not steps: the model reaches them by itself.

    title: 市电中断
    duration: 60m            # simulated length
    initial: {load_pct: [45, 48, 42]}
    steps:
      - at: 30s
        set: {mains: false}
        event: 市电中断
    expect:
      - {rule: ups_on_battery, state: firing}
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError

from hotline_monitor.config.types import Duration, StrictModel
from hotline_monitor.errors import ConfigError
from hotline_monitor.simulator.model import FAULTABLE_VALUES, TEST_RESULTS, FaultKind, UpsModel

TimeOffset = Annotated[float, Field(ge=0)]


class StateChange(StrictModel):
    """What a step changes; every key is optional."""

    mains: bool | None = None
    bypass: bool | None = None
    load_pct: float | list[float] | None = None
    charge_pct: Annotated[float, Field(ge=0, le=100)] | None = None
    battery_health: Annotated[float, Field(gt=0, le=1)] | None = None
    faults: dict[str, FaultKind] | None = None
    clear_faults: bool = False
    reachable: bool | None = None
    self_test: Literal["done_pass", "done_warning", "done_error"] | None = None

    def model_post_init(self, _: Any) -> None:
        unknown = sorted(set(self.faults or {}) - set(FAULTABLE_VALUES))
        if unknown:
            raise ValueError(f"未知的故障量 {', '.join(unknown)}；可用：{', '.join(FAULTABLE_VALUES)}")
        loads = self.load_pct if isinstance(self.load_pct, list) else [self.load_pct or 0.0]
        if isinstance(self.load_pct, list) and len(self.load_pct) != 3:
            raise ValueError(f"load_pct 应为一个数或三相三个数，实际为 {len(self.load_pct)} 个")
        if any(not 0 <= load <= 150 for load in loads):
            raise ValueError(f"load_pct 应在 0 到 150 之间，实际为 {self.load_pct}")


class Step(StrictModel):
    at: Duration | Literal[0]
    set: StateChange
    event: str
    """Chinese description of the simulated event, shown in the drill report."""


class Expectation(StrictModel):
    rule: str
    state: Literal["firing", "resolved"]


class Scenario(StrictModel):
    name: str = ""
    title: str
    description: str = ""
    duration: Duration
    initial: StateChange = StateChange()
    steps: list[Step] = []
    expect: list[Expectation] = []

    def model_post_init(self, _: Any) -> None:
        for step in self.steps:
            if step.at > self.duration:
                raise ValueError(f"步骤“{step.event}”的时间 {step.at:g} 秒超出场景时长 {self.duration:g} 秒")


def scenario_names() -> list[str]:
    folder = resources.files("hotline_monitor.simulator") / "scenarios"
    return sorted(entry.name[:-5] for entry in folder.iterdir() if entry.name.endswith(".yaml"))


def load_scenario(name_or_path: str) -> Scenario:
    """Load a shipped scenario by name, or a scenario file by path; raise ConfigError."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.exists():
        text = path.read_text(encoding="utf-8")
        name = path.stem
    elif name_or_path in scenario_names():
        folder = resources.files("hotline_monitor.simulator") / "scenarios"
        text = (folder / f"{name_or_path}.yaml").read_text(encoding="utf-8")
        name = name_or_path
    else:
        raise ConfigError([f"场景 {name_or_path!r} 不存在；可用场景：{'、'.join(scenario_names())}"])

    try:
        raw = yaml.safe_load(text)
        scenario = Scenario.model_validate({**raw, "name": name})
    except yaml.YAMLError as err:
        raise ConfigError([f"场景 {name}: YAML 格式错误：{err}"]) from err
    except ValidationError as err:
        raise ConfigError([
            f"场景 {name}: {'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in err.errors()
        ]) from err
    return scenario


def apply_change(model: UpsModel, change: StateChange) -> bool | None:
    """Apply a step to the model; return the new reachability when the step sets it."""
    if change.load_pct is not None:
        loads = change.load_pct if isinstance(change.load_pct, list) else [change.load_pct] * 3
        model.load_pct = [float(load) for load in loads]
    if change.charge_pct is not None:
        model.charge_pct = change.charge_pct
    if change.battery_health is not None:
        model.battery_health = change.battery_health
    if change.bypass is not None:
        model.bypass_requested = change.bypass
    if change.mains is not None:
        model.set_mains(change.mains)
    if change.clear_faults:
        model.faults.clear()
    if change.faults:
        model.faults.update(change.faults)
    if change.self_test is not None:
        model.test_id += 1
        model.test_result = TEST_RESULTS[change.self_test]
        model.test_detail = {
            "done_pass": "battery test passed",
            "done_warning": "battery capacity below 50% of rating",
            "done_error": "battery test failed",
        }[change.self_test]
    model.update_alarms()
    return change.reachable
