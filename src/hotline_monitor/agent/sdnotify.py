"""systemd's notify protocol, written directly on the unix datagram socket.

Under `Type=notify` systemd sets NOTIFY_SOCKET; `READY=1` tells it the
service is up and, with `WatchdogSec=`, `WATCHDOG=1` must arrive at least
every WATCHDOG_USEC microseconds or systemd restarts the service. See
sd_notify(3): a socket path starting with "@" is in the abstract namespace.
Outside systemd every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


class SystemdNotifier:
    """Sends notify messages when NOTIFY_SOCKET is set; otherwise does nothing."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        environ = dict(os.environ if environ is None else environ)
        address = environ.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):
            address = "\0" + address[1:]
        self.address = address or None
        usec = environ.get("WATCHDOG_USEC", "")
        pid = environ.get("WATCHDOG_PID", "")
        watchdog_applies = usec.isdigit() and (not pid or pid == str(os.getpid()))
        self.watchdog_interval_s = int(usec) / 1e6 / 2 if watchdog_applies else None
        """Half the watchdog timeout, as sd_watchdog_enabled(3) recommends; None without one."""

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, state: str) -> bool:
        """Send one state string (`READY=1`, `WATCHDOG=1`, `STOPPING=1`); True if sent."""
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(state.encode("utf-8"), self.address)
        except OSError as err:
            log.warning("systemd notify %r to %s failed: %s", state, self.address, err)
            return False
        return True

    def ready(self, status: str = "") -> bool:
        message = "READY=1" + (f"\nSTATUS={status}" if status else "")
        return self.notify(message)

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")
