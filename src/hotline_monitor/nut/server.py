"""A NUT network protocol server (upsd's side of NUT 2.8's protocol 1.3).

NUT clients (upsmon, upsc, Windows and NAS clients) connect over TCP, read
the UPS variables and log in to follow a UPS. Replies and error words match
upsd 2.8 (server/netget.c, netlist.c, netuser.c, netmisc.c and neterr.h of
networkupstools/nut), so that clients parse them as they parse upsd's.

Nothing a client sends can change a UPS: SET and INSTCMD are always refused.
FSD from a user allowed to act as primary marks the UPS "FSD" for every
client. The mark is kept until mains have been back for `FSD_HOLD_S`.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from hotline_monitor import __version__
from hotline_monitor.config.model import UpsConfig
from hotline_monitor.nut.config import NutServerConfig, NutUser
from hotline_monitor.nut.descriptions import describe_variable
from hotline_monitor.nut.latest import LatestReadings
from hotline_monitor.nut.protocol import RequestSyntaxError, ascii_text, quote, split_request
from hotline_monitor.nut.variables import STRING_VARIABLES, UpsView, build_view

log = logging.getLogger(__name__)

NETWORK_PROTOCOL_VERSION = "1.3"
"""NUT_NETVERSION of NUT 2.8.0."""
MAX_LINE_BYTES = 1024
FSD_HOLD_S = 300.0
DENIED_LOG_INTERVAL_S = 60.0
MAX_DENIED_KEYS = 1000
STRING_LENGTH = 64
HELP_TEXT = "Commands: HELP VER GET LIST SET INSTCMD LOGIN LOGOUT USERNAME PASSWORD STARTTLS"

# Commands that need USERNAME and PASSWORD first (FLAG_USER in upsd's netcmds.h).
USER_COMMANDS = frozenset({"ATTACH", "LOGIN", "PRIMARY", "MASTER", "FSD", "SET", "INSTCMD"})


class NutError(Exception):
    """Error reply `ERR <word>` to one request."""

    def __init__(self, word: str) -> None:
        super().__init__(word)
        self.word = word


@dataclass(eq=False, slots=True)
class Session:
    """One client connection."""

    address: str
    username: str | None = None
    password: str | None = None
    login_ups: str | None = None
    closing: bool = False
    task: asyncio.Task | None = None


@dataclass(slots=True)
class _UpsEntry:
    config: UpsConfig
    logins: set[Session] = field(default_factory=set)
    fsd_since_ns: int | None = None
    mains_since_ns: int | None = None


class NutServer:
    """Serves every configured UPS under its id to NUT clients."""

    def __init__(
        self,
        config: NutServerConfig,
        ups: list[UpsConfig],
        latest: LatestReadings,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.config = config
        self.latest = latest
        self.clock = clock
        self.ups = {entry.id.lower(): _UpsEntry(entry) for entry in ups}
        self.users = {user.name: user for user in config.users}
        self.sessions: set[Session] = set()
        self.requests = 0
        self._denied: dict[tuple[str, str], tuple[float, int]] = {}
        self._server: asyncio.Server | None = None

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve_client, self.config.listen, self.config.port, limit=MAX_LINE_BYTES
        )
        log.info("NUT server listening on %s port %d for %d UPS", self.config.listen,
                 self.port, len(self.ups))

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        # Python 3.11's wait_closed does not wait for open connections: end them here.
        tasks = [session.task for session in self.sessions if session.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()
        log.info("NUT server stopped")

    # -- connections -------------------------------------------------------

    async def _serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        session = Session(peer[0] if peer else "unknown")
        if len(self.sessions) >= self.config.max_clients:
            log.warning("NUT client %s rejected: %d clients already connected (max_clients)",
                        session.address, len(self.sessions))
            writer.close()
            return

        session.task = asyncio.current_task()
        self.sessions.add(session)
        try:
            while not session.closing:
                line = await asyncio.wait_for(reader.readline(), self.config.idle_timeout)
                if not line:
                    break
                writer.write(self.handle_line(session, line.decode("utf-8", "replace")).encode())
                await writer.drain()
        except TimeoutError:
            log.debug("NUT client %s idle for %g s: closing", session.address, self.config.idle_timeout)
        except ValueError:
            log.warning("NUT client %s sent a line longer than %d bytes: closing", session.address,
                        MAX_LINE_BYTES)
        except ConnectionError as err:
            log.debug("NUT client %s went away: %s", session.address, err)
        finally:
            self._forget(session)
            writer.close()

    def _forget(self, session: Session) -> None:
        self.sessions.discard(session)
        if session.login_ups is not None:
            self.ups[session.login_ups].logins.discard(session)
            log.info("NUT user %s@%s logged out from UPS %s", session.username, session.address,
                     session.login_ups)

    # -- requests ----------------------------------------------------------

    def handle_line(self, session: Session, line: str) -> str:
        """Handle one request line and return the reply, which ends with a newline."""
        self.requests += 1
        try:
            words = split_request(line)
            if not words:
                raise NutError("UNKNOWN-COMMAND")
            command = words[0].upper()
            handler = self._handlers.get(command)
            if handler is None:
                raise NutError("UNKNOWN-COMMAND")
            if command in USER_COMMANDS:
                self._require_credentials(session)
            return handler(self, session, words[1:])
        except RequestSyntaxError:
            return "ERR UNKNOWN-COMMAND\n"
        except NutError as err:
            return f"ERR {err.word}\n"

    @staticmethod
    def _require_credentials(session: Session) -> None:
        if session.username is None:
            raise NutError("USERNAME-REQUIRED")
        if session.password is None:
            raise NutError("PASSWORD-REQUIRED")

    def _user(self, session: Session) -> NutUser | None:
        """Return the account whose name and password the session gave, if they match."""
        user = self.users.get(session.username or "")
        if user is None or session.password is None:
            return None
        if not hmac.compare_digest(user.password.encode(), session.password.encode()):
            return None
        return user

    def _entry(self, name: str) -> _UpsEntry:
        entry = self.ups.get(name.lower())
        if entry is None:
            raise NutError("UNKNOWN-UPS")
        return entry

    def _may_read(self, session: Session, entry: _UpsEntry) -> bool:
        ups_id = entry.config.id
        if "*" in self.config.anonymous_ups or ups_id in self.config.anonymous_ups:
            return True
        user = self._user(session)
        return user is not None and ("*" in user.ups or ups_id in user.ups)

    def _readable(self, session: Session, name: str) -> _UpsEntry:
        entry = self._entry(name)
        if not self._may_read(session, entry):
            raise NutError("ACCESS-DENIED")
        return entry

    def _user_for(self, session: Session, entry: _UpsEntry, primary: bool = False) -> NutUser:
        user = self._user(session)
        if user is None:
            self._log_denied(session)
            raise NutError("ACCESS-DENIED")
        if not ("*" in user.ups or entry.config.id in user.ups) or (primary and not user.primary):
            log.warning("NUT user %s@%s may not %s UPS %s", user.name, session.address,
                        "act as primary for" if primary else "log into", entry.config.id)
            raise NutError("ACCESS-DENIED")
        return user

    def _log_denied(self, session: Session) -> None:
        """Log a failed login at WARNING once a minute per address and user, repeats at DEBUG."""
        key = (session.address, session.username or "")
        now_s = time.monotonic()
        last_s, repeats = self._denied.get(key, (float("-inf"), 0))
        if now_s - last_s < DENIED_LOG_INTERVAL_S:
            self._denied[key] = (last_s, repeats + 1)
            log.debug("NUT client %s: wrong password or unknown user %r again", *key)
            return
        if len(self._denied) >= MAX_DENIED_KEYS:
            self._denied.clear()  # bounds memory when a client tries many user names
        self._denied[key] = (now_s, 0)
        log.warning("NUT client %s: wrong password or unknown user %r (%d more attempts in the last "
                    "%g s)", session.address, session.username, repeats, DENIED_LOG_INTERVAL_S)

    def view(self, entry: _UpsEntry) -> UpsView:
        """Return the UPS's current view, or raise DATA-STALE when it has no fresh data."""
        now_ns = self.clock()
        view = build_view(
            self.latest.get(entry.config.id),
            now_ns,
            self.config.max_age,
            self.config.shutdown_threshold,
            _replace_due(entry.config),
        )
        if view is None:
            raise NutError("DATA-STALE")
        self._update_fsd(entry, view, now_ns)
        return view

    def _update_fsd(self, entry: _UpsEntry, view: UpsView, now_ns: int) -> None:
        if view.on_battery:
            entry.mains_since_ns = None
            return
        if entry.mains_since_ns is None:
            entry.mains_since_ns = now_ns
        if entry.fsd_since_ns is not None and now_ns - entry.mains_since_ns >= FSD_HOLD_S * 1e9:
            entry.fsd_since_ns = None
            log.info("UPS %s: FSD cleared, mains back for %g s", entry.config.id, FSD_HOLD_S)

    def status_text(self, entry: _UpsEntry, view: UpsView) -> str:
        return f"FSD {view.status}" if entry.fsd_since_ns is not None else view.status

    # -- commands ----------------------------------------------------------

    def _ver(self, session: Session, args: list[str]) -> str:
        _no_arguments(args)
        return f"hotline-monitor {__version__} NUT network protocol server\n"

    def _netver(self, session: Session, args: list[str]) -> str:
        _no_arguments(args)
        return f"{NETWORK_PROTOCOL_VERSION}\n"

    def _help(self, session: Session, args: list[str]) -> str:
        _no_arguments(args)
        return f"{HELP_TEXT}\n"

    def _starttls(self, session: Session, args: list[str]) -> str:
        # upsd built with TLS support replies this when no certificate is configured.
        # NUT clients then continue in plain text unless configured to require TLS.
        raise NutError("FEATURE-NOT-CONFIGURED")

    def _username(self, session: Session, args: list[str]) -> str:
        _exactly(args, 1)
        if session.username is not None:
            raise NutError("ALREADY-SET-USERNAME")
        session.username = args[0]
        return "OK\n"

    def _password(self, session: Session, args: list[str]) -> str:
        _exactly(args, 1)
        if session.password is not None:
            raise NutError("ALREADY-SET-PASSWORD")
        session.password = args[0]
        return "OK\n"

    def _login(self, session: Session, args: list[str]) -> str:
        _exactly(args, 1)
        if session.login_ups is not None:
            raise NutError("ALREADY-LOGGED-IN")
        entry = self._entry(args[0])
        user = self._user_for(session, entry)
        session.login_ups = entry.config.id.lower()
        entry.logins.add(session)
        log.info("NUT user %s@%s logged into UPS %s", user.name, session.address, entry.config.id)
        return "OK\n"

    def _logout(self, session: Session, args: list[str]) -> str:
        _no_arguments(args)
        session.closing = True
        return "OK Goodbye\n"

    def _primary(self, session: Session, args: list[str], word: str = "PRIMARY") -> str:
        _exactly(args, 1)
        self._user_for(session, self._entry(args[0]), primary=True)
        return f"OK {word}-GRANTED\n"

    def _master(self, session: Session, args: list[str]) -> str:
        return self._primary(session, args, "MASTER")

    def _fsd(self, session: Session, args: list[str]) -> str:
        _exactly(args, 1)
        entry = self._entry(args[0])
        user = self._user_for(session, entry, primary=True)
        if entry.fsd_since_ns is None:
            entry.fsd_since_ns = self.clock()
        log.warning("NUT user %s@%s set forced shutdown (FSD) on UPS %s", user.name,
                    session.address, entry.config.id)
        return "OK FSD-SET\n"

    def _set(self, session: Session, args: list[str]) -> str:
        if len(args) < 3 or args[0].upper() != "VAR":
            raise NutError("INVALID-ARGUMENT")
        self._entry(args[1])
        raise NutError("ACCESS-DENIED")

    def _instcmd(self, session: Session, args: list[str]) -> str:
        if len(args) < 2:
            raise NutError("INVALID-ARGUMENT")
        self._entry(args[0])
        raise NutError("ACCESS-DENIED")

    def _get(self, session: Session, args: list[str]) -> str:
        if not args:
            raise NutError("INVALID-ARGUMENT")
        kind = args[0].upper()
        if kind == "TRACKING":
            return "OFF\n" if len(args) == 1 else "ERR FEATURE-NOT-CONFIGURED\n"
        if len(args) < 2:
            raise NutError("INVALID-ARGUMENT")
        if kind == "NUMLOGINS":
            entry = self._readable(session, args[1])
            self.view(entry)
            return f"NUMLOGINS {args[1]} {len(entry.logins)}\n"
        if kind == "UPSDESC":
            entry = self._readable(session, args[1])
            return f"UPSDESC {args[1]} {quote(_description(entry.config))}\n"
        if len(args) < 3:
            raise NutError("INVALID-ARGUMENT")
        if kind == "VAR":
            return self._get_var(session, args[1], args[2])
        if kind == "TYPE":
            name, variable = self._variable(session, args[1], args[2])
            kind_text = f"STRING:{STRING_LENGTH}" if name in STRING_VARIABLES else "NUMBER"
            return f"TYPE {args[1]} {args[2]} {kind_text}\n"
        if kind == "DESC":
            self.view(self._readable(session, args[1]))
            return f"DESC {args[1]} {args[2]} {quote(describe_variable(args[2]))}\n"
        if kind == "CMDDESC":
            self.view(self._readable(session, args[1]))
            return f"CMDDESC {args[1]} {args[2]} \"Description unavailable\"\n"
        raise NutError("INVALID-ARGUMENT")

    def _get_var(self, session: Session, ups_name: str, variable: str) -> str:
        if variable.lower() == "server.info":
            return f'VAR {ups_name} {variable} "hotline-monitor {__version__}"\n'
        if variable.lower() == "server.version":
            return f'VAR {ups_name} {variable} "{__version__}"\n'
        _, value = self._variable(session, ups_name, variable)
        return f"VAR {ups_name} {variable} {quote(value)}\n"

    def _variable(self, session: Session, ups_name: str, variable: str) -> tuple[str, str]:
        """Return (canonical name, value) of one variable, with FSD added to ups.status."""
        entry = self._readable(session, ups_name)
        view = self.view(entry)
        name = variable.lower()
        for known, value in view.variables.items():
            if known.lower() == name:
                return known, self.status_text(entry, view) if known == "ups.status" else value
        raise NutError("VAR-NOT-SUPPORTED")

    def _list(self, session: Session, args: list[str]) -> str:
        if not args:
            raise NutError("INVALID-ARGUMENT")
        kind = args[0].upper()
        if kind == "UPS":
            return self._list_ups(session)
        if len(args) < 2:
            raise NutError("INVALID-ARGUMENT")
        ups_name = args[1]
        if kind == "VAR":
            entry = self._readable(session, ups_name)
            view = self.view(entry)
            lines = [f"BEGIN LIST VAR {ups_name}"]
            for name, value in view.variables.items():
                shown = self.status_text(entry, view) if name == "ups.status" else value
                lines.append(f"VAR {ups_name} {name} {quote(shown)}")
            lines.append(f"END LIST VAR {ups_name}")
            return "\n".join(lines) + "\n"
        if kind in ("RW", "CMD"):
            self.view(self._readable(session, ups_name))
            return f"BEGIN LIST {kind} {ups_name}\nEND LIST {kind} {ups_name}\n"
        if kind == "CLIENT":
            entry = self._readable(session, ups_name)
            lines = [f"BEGIN LIST CLIENT {ups_name}"]
            lines += [f"CLIENT {ups_name} {client.address}" for client in entry.logins]
            lines.append(f"END LIST CLIENT {ups_name}")
            return "\n".join(lines) + "\n"
        if len(args) < 3:
            raise NutError("INVALID-ARGUMENT")
        if kind in ("ENUM", "RANGE"):
            self._variable(session, ups_name, args[2])
            return f"BEGIN LIST {kind} {ups_name} {args[2]}\nEND LIST {kind} {ups_name} {args[2]}\n"
        raise NutError("INVALID-ARGUMENT")

    def _list_ups(self, session: Session) -> str:
        lines = ["BEGIN LIST UPS"]
        for entry in self.ups.values():
            if self._may_read(session, entry):
                lines.append(f"UPS {entry.config.id} {quote(_description(entry.config))}")
        lines.append("END LIST UPS")
        return "\n".join(lines) + "\n"

    _handlers: dict[str, Callable[[NutServer, Session, list[str]], str]] = {
        "VER": _ver,
        "NETVER": _netver,
        "PROTVER": _netver,
        "HELP": _help,
        "STARTTLS": _starttls,
        "USERNAME": _username,
        "PASSWORD": _password,
        "LOGIN": _login,
        "ATTACH": _login,
        "LOGOUT": _logout,
        "DETACH": _logout,
        "PRIMARY": _primary,
        "MASTER": _master,
        "FSD": _fsd,
        "SET": _set,
        "INSTCMD": _instcmd,
        "GET": _get,
        "LIST": _list,
    }


def _no_arguments(args: list[str]) -> None:
    if args:
        raise NutError("INVALID-ARGUMENT")


def _exactly(args: list[str], count: int) -> None:
    if len(args) != count:
        raise NutError("INVALID-ARGUMENT")


def _replace_due(config: UpsConfig) -> date | None:
    if not config.battery_replace_due:
        return None
    try:
        return date.fromisoformat(config.battery_replace_due)
    except ValueError:
        return None


def _description(config: UpsConfig) -> str:
    """Return the UPS's name for NUT clients, or upsd's placeholder unless the name is ASCII.

    A Chinese name with its characters dropped would read as a different name.
    """
    name = config.display_name
    return name if name and ascii_text(name) == name else "Description unavailable"
