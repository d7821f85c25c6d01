"""Who watches the watcher: the hub tracks its agents, and each agent tracks the hub.

`AgentLiveness` (hub side) marks an agent offline when a graceful "stopped"
status arrives, when its last will is not followed by an "online" status
within `will_grace` seconds, or when no heartbeat came for `offline_after`
seconds. The alert names the targets that agent had reported, which are no
longer watched. The grace keeps a broker restart, which publishes the wills
of every connected agent, from paging for agents that reconnect at once. Its state is kept in `hub_agents.json` so that a hub
restart neither forgets an agent's targets nor repeats an alert already sent.

`HubSilence` (agent side) pages once when no hub heartbeat was heard for
`hub_silent_after` seconds, and once more when the hub is heard again.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from hotline_monitor.alerting.notify import AlertMessage
from hotline_monitor.notify.message import OutgoingMessage, Recipient
from hotline_monitor.reading import now_ns
from hotline_monitor.timeutil import format_duration, local_text

log = logging.getLogger(__name__)

_REASONS = {"lost": "连接异常断开（遗嘱消息）", "stopped": "已停止运行",
            "heartbeat": "心跳超时"}


@dataclass(slots=True)
class AgentState:
    targets: set[str] = field(default_factory=set)
    online: bool = False
    last_seen: float | None = None
    """time.monotonic() of the last heartbeat or status; not persisted."""
    offline_since_ns: int | None = None
    alerted: bool = False
    will_seen: float | None = None
    """time.monotonic() when the last will arrived; cleared when the agent is heard again."""


class AgentLiveness:
    """The hub's view of its agents; produces agent_offline alert events."""

    def __init__(self, site: str, offline_after: float, state_path: Path,
                 started: float, will_grace: float = 0.0) -> None:
        self.site = site
        self.offline_after = offline_after
        self.will_grace = will_grace
        self.state_path = state_path
        self.started = started
        self.agents: dict[str, AgentState] = self._load()

    def status(self, agent: str, payload: dict, now: float) -> list[AlertMessage]:
        """Handle an agent's retained status (online, or offline from its will or stop)."""
        state = self.agents.setdefault(agent, AgentState())
        if isinstance(payload.get("targets"), list):
            state.targets.update(str(target) for target in payload["targets"])
        if payload.get("state") == "online":
            state.last_seen = now
            return self._back_online(agent, state)

        reason = str(payload.get("reason", "lost"))
        if reason == "lost" and self.will_grace > 0:
            if state.will_seen is None:
                state.will_seen = now
            return []
        return self._gone(agent, state, reason)

    def heartbeat(self, agent: str, now: float) -> list[AlertMessage]:
        state = self.agents.setdefault(agent, AgentState())
        state.last_seen = now
        return self._back_online(agent, state)

    def target_seen(self, agent: str, target: str) -> None:
        state = self.agents.setdefault(agent, AgentState())
        if target not in state.targets:
            state.targets.add(target)
            self._save()

    def check(self, now: float) -> list[AlertMessage]:
        """Mark agents whose heartbeat is overdue as offline."""
        messages = []
        for agent, state in self.agents.items():
            last = state.last_seen if state.last_seen is not None else self.started
            # An agent known from an earlier run but not heard since the hub
            # started counts from the hub's start.
            if state.alerted:
                continue
            if state.will_seen is not None and now - state.will_seen >= self.will_grace:
                messages += self._gone(agent, state, "lost")
            elif now - last > self.offline_after:
                messages += self._gone(agent, state, "heartbeat")
        return messages

    def _gone(self, agent: str, state: AgentState, reason: str) -> list[AlertMessage]:
        state.online = False
        state.will_seen = None
        if state.alerted:
            return []
        state.offline_since_ns = state.offline_since_ns or now_ns()
        state.alerted = True
        self._save()
        targets = "、".join(sorted(state.targets)) or "（尚未上报任何目标）"
        text = (f"采集代理 {agent} 离线：{_REASONS.get(reason, reason)}，"
                f"自 {local_text(state.offline_since_ns)} 起以下目标无人监测：{targets}")
        log.error("agent %s offline (%s); unwatched targets: %s", agent, reason, targets)
        return [AlertMessage("agent_offline", agent, "critical", "firing", text,
                             state.offline_since_ns)]

    def _back_online(self, agent: str, state: AgentState) -> list[AlertMessage]:
        was_alerted = state.alerted
        since = state.offline_since_ns
        state.will_seen = None
        state.online = True
        state.alerted = False
        state.offline_since_ns = None
        if not was_alerted:
            return []
        self._save()
        time_ns = now_ns()
        duration = (time_ns - since) / 1e9 if since else 0.0
        log.info("agent %s online again", agent)
        text = f"采集代理 {agent} 已恢复在线，离线 {format_duration(duration)}"
        return [AlertMessage("agent_offline", agent, "critical", "resolved", text, time_ns,
                             duration)]

    def _load(self) -> dict[str, AgentState]:
        try:
            raw = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as err:
            log.error("hub agent state %s unreadable, starting empty: %s", self.state_path, err)
            return {}
        return {
            agent: AgentState(set(item.get("targets", [])), False, None,
                              item.get("offline_since_ns"), bool(item.get("alerted")))
            for agent, item in raw.items()
        }

    def _save(self) -> None:
        data = {agent: {"targets": sorted(state.targets),
                        "offline_since_ns": state.offline_since_ns,
                        "alerted": state.alerted}
                for agent, state in self.agents.items()}
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, self.state_path)


class HubSilence:
    """An agent's watch on the hub heartbeat; returns the page to send, if any."""

    def __init__(self, site: str, agent_id: str, silent_after: float,
                 channels: list[str]) -> None:
        self.site = site
        self.agent_id = agent_id
        self.silent_after = silent_after
        self.recipients = [Recipient(channel) for channel in channels]
        self.paged_since_ns: int | None = None

    def check(self, silent_for: float) -> OutgoingMessage | None:
        if silent_for > self.silent_after and self.paged_since_ns is None:
            self.paged_since_ns = now_ns() - int(silent_for * 1e9)
            log.error("no hub heartbeat for %.0f s: paging", silent_for)
            return OutgoingMessage(
                key=f"hub-silent:{self.site}:{self.agent_id}:{self.paged_since_ns}",
                kind="operator",
                severity="critical",
                title="监控中心失联",
                text=(f"采集代理 {self.agent_id} 已 {format_duration(silent_for)} 未收到监控中心"
                      f"（hub）心跳：告警可能无人处理。请检查 hub 进程和 MQTT 代理。"),
                recipients=self.recipients,
                context={"rule": "hub_silent", "target": self.agent_id},
            )
        if silent_for <= self.silent_after and self.paged_since_ns is not None:
            duration = (now_ns() - self.paged_since_ns) / 1e9
            key = f"hub-back:{self.site}:{self.agent_id}:{self.paged_since_ns}"
            self.paged_since_ns = None
            log.info("hub heartbeat heard again")
            return OutgoingMessage(
                key=key, kind="recovery", severity="critical", title="监控中心恢复",
                text=f"采集代理 {self.agent_id} 重新收到监控中心心跳，失联约 {format_duration(duration)}",
                recipients=self.recipients,
                context={"rule": "hub_silent", "target": self.agent_id},
            )
        return None
