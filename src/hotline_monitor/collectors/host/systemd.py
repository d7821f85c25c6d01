"""Ask systemd whether required units are active, where systemd manages the machine."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

SYSTEMCTL_TIMEOUT_S = 5.0


def systemd_running() -> bool:
    """Tell whether systemd is the init system, as sd_booted(3) does: /run/systemd/system exists."""
    return Path("/run/systemd/system").is_dir()


def init_process_name() -> str:
    try:
        return Path("/proc/1/comm").read_text().strip()
    except OSError:
        return "unknown"


async def unit_states(units: list[str]) -> dict[str, str]:
    """Return `systemctl is-active` for each unit: active, inactive, failed, activating...

    Units systemctl did not report on are left out, so the caller writes no
    reading for them rather than a false "down".
    """
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        log.warning("systemctl not found; systemd unit checks skipped")
        return {}

    process = await asyncio.create_subprocess_exec(
        systemctl, "is-active", "--", *units,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "LC_ALL": "C"},
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), SYSTEMCTL_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        log.warning("systemctl is-active timed out after %g s; unit states unknown this poll",
                    SYSTEMCTL_TIMEOUT_S)
        return {}

    # `is-active` prints one state per unit, in order, and exits non-zero when
    # any unit is not active; the exit code alone is not an error.
    states = stdout.decode(errors="replace").split()
    if len(states) != len(units):
        log.warning("systemctl is-active returned %d states for %d units: %s", len(states),
                    len(units), stderr.decode(errors="replace").strip())
        return {}
    return dict(zip(units, states, strict=True))
