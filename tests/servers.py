"""Start real servers on loopback, on free ports, in temporary folders.

Each launcher is a context manager that yields once the server answers and
stops it (and removes its folder) on exit. A missing binary skips the test
with the Debian package to install; `make test` installs them when root.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
RECORDINGS = REPO_ROOT.parent / "shared" / "recordings"


def _recordings_candidates() -> list[Path]:
    """../shared/recordings beside this clone, or beside the main clone of a git worktree."""
    candidates = [RECORDINGS]
    if os.environ.get("HOTLINE_RECORDINGS"):
        candidates.insert(0, Path(os.environ["HOTLINE_RECORDINGS"]))
    try:
        common = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--git-common-dir"],
                                capture_output=True, text=True, timeout=5, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return candidates
    common_dir = (REPO_ROOT / common.strip()).resolve()
    candidates.append(common_dir.parent.parent / "shared" / "recordings")
    return candidates


def require_binary(name: str, package: str) -> str:
    """Return the binary's path, or skip the test naming the package to install."""
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/lib/nut/{name}"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.skip(f"{name} not found: install Debian's {package} (make test does it as root)")


def recordings_dir() -> Path:
    """Return the shared UPS recordings folder, or skip when this clone has none."""
    for candidate in _recordings_candidates():
        if candidate.is_dir():
            return candidate
    pytest.skip(f"UPS recordings not found at {RECORDINGS} (a user's clone has no ../shared)")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as err:  # noqa: BLE001 - any failure means "not ready yet"
            last_error = err
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not become ready in {timeout} s (last error: {last_error!r})")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _world_writable_dir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o777)
    return path


@dataclass
class SnmpAgent:
    host: str
    port: int
    data_dir: Path


@contextlib.contextmanager
def snmpsim(
    recordings: dict[str, Path | str],
    v3_users: list[dict[str, str]] | None = None,
) -> Iterator[SnmpAgent]:
    """Serve `.snmprec` files with Debian's snmpsimd; the community is the dict key.

    `v3_users` items take snmpsimd's options without the `--v3-` prefix, e.g.
    {"user": "ups", "auth-key": "...", "auth-proto": "SHA256", "priv-key": "...",
    "priv-proto": "AES"}. Each v3 user's context names a recording.
    """
    binary = require_binary("snmpsimd", "snmpsim")
    base = _world_writable_dir("snmpsim-")
    data_dir = base / "data"
    cache_dir = base / "cache"
    data_dir.mkdir()
    cache_dir.mkdir()
    for community, source in recordings.items():
        target = data_dir / f"{community}.snmprec"
        if isinstance(source, Path):
            shutil.copyfile(source, target)
        else:
            target.write_text(source)
    for path in (data_dir, cache_dir, *data_dir.iterdir()):
        path.chmod(0o777 if path.is_dir() else 0o666)

    port = free_port(socket.SOCK_DGRAM)
    command = [
        binary,
        f"--data-dir={data_dir}",
        f"--cache-dir={cache_dir}",
        f"--agent-udpv4-endpoint=127.0.0.1:{port}",
        f"--logging-method=file:{base / 'snmpsimd.log'}",
    ]
    if os.geteuid() == 0:
        command += ["--process-user=nobody", "--process-group=nogroup"]
    for user in v3_users or []:
        for key, value in user.items():
            command.append(f"--v3-{key}={value}")

    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first_community = next(iter(recordings))
    try:
        wait_for(
            lambda: _snmp_answers("127.0.0.1", port, first_community) or process.poll() is not None,
            30,
            "snmpsimd",
        )
        if process.poll() is not None:
            log_text = (base / "snmpsimd.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"snmpsimd exited with {process.returncode}: {log_text}")
        yield SnmpAgent("127.0.0.1", port, data_dir)
    finally:
        _stop(process)
        shutil.rmtree(base, ignore_errors=True)


def _snmp_answers(host: str, port: int, community: str) -> bool:
    """Send a v2c GET of sysDescr.0 and report whether any response came back."""
    # A minimal, hand-encoded SNMPv2c GetRequest for 1.3.6.1.2.1.1.1.0.
    community_bytes = community.encode()
    varbind = bytes.fromhex("300c06082b060102010101000500")
    varbinds = b"\x30" + bytes([len(varbind)]) + varbind
    pdu_body = bytes.fromhex("020101020100020100") + varbinds
    pdu = b"\xa0" + bytes([len(pdu_body)]) + pdu_body
    message_body = (
        bytes.fromhex("020101") + b"\x04" + bytes([len(community_bytes)]) + community_bytes + pdu
    )
    message = b"\x30" + bytes([len(message_body)]) + message_body
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.5)
        sock.sendto(message, (host, port))
        try:
            sock.recvfrom(4096)
        except TimeoutError:
            return False
    return True


@dataclass
class InfluxServer:
    url: str
    database: str

    def query(self, influxql: str) -> list[dict]:
        """Run InfluxQL and return the series of the first statement's result."""
        params = urllib.parse.urlencode({"db": self.database, "q": influxql, "epoch": "ns"})
        with urllib.request.urlopen(f"{self.url}/query?{params}", timeout=10) as response:
            import json

            body = json.load(response)
        result = body["results"][0]
        if "error" in result:
            raise RuntimeError(result["error"])
        return result.get("series", [])

    def points(self, influxql: str) -> list[dict]:
        """Run InfluxQL and return rows as dicts (tags of GROUP BY * merged in)."""
        rows = []
        for series in self.query(influxql):
            for values in series["values"]:
                row = dict(zip(series["columns"], values, strict=True))
                row.update(series.get("tags", {}))
                rows.append(row)
        return rows


def _influxdb_folder() -> tuple[Path, int]:
    """Make a temporary folder with an influxdb.conf on free loopback ports; return it and the HTTP port."""
    base = Path(tempfile.mkdtemp(prefix="influxd-"))
    http_port = free_port()
    rpc_port = free_port()
    (base / "influxdb.conf").write_text(
        f"""
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{base}/meta"
[data]
  dir = "{base}/data"
  wal-dir = "{base}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{http_port}"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
"""
    )
    return base, http_port


@contextlib.contextmanager
def influxdb_v1(database: str = "hotline") -> Iterator[InfluxServer]:
    """Run Debian's InfluxDB 1.x with its data in a temporary folder."""
    binary = require_binary("influxd", "influxdb")
    base, http_port = _influxdb_folder()
    log_file = open(base / "influxd.log", "wb")  # noqa: SIM115 - closed in finally
    process = subprocess.Popen(
        [binary, "-config", str(base / "influxdb.conf")], stdout=log_file, stderr=log_file
    )
    url = f"http://127.0.0.1:{http_port}"
    try:
        wait_for(lambda: urllib.request.urlopen(f"{url}/ping", timeout=1).status == 204, 30, "influxd")
        request = urllib.request.Request(
            f"{url}/query", data=urllib.parse.urlencode({"q": f'CREATE DATABASE "{database}"'}).encode()
        )
        urllib.request.urlopen(request, timeout=10).read()
        yield InfluxServer(url, database)
    finally:
        _stop(process)
        log_file.close()
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class VictoriaMetrics:
    url: str

    def export(self, match: str) -> list[dict]:
        """Return series matching a PromQL selector from /api/v1/export (JSON lines)."""
        import json

        params = urllib.parse.urlencode({"match[]": match})
        with urllib.request.urlopen(f"{self.url}/api/v1/export?{params}", timeout=10) as response:
            return [json.loads(line) for line in response.read().decode().splitlines() if line]


@contextlib.contextmanager
def victoria_metrics() -> Iterator[VictoriaMetrics]:
    """Run Debian's victoria-metrics, which accepts InfluxDB's /api/v2/write."""
    binary = require_binary("victoria-metrics", "victoria-metrics")
    base = Path(tempfile.mkdtemp(prefix="victoria-"))
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            f"-storageDataPath={base}",
            f"-httpListenAddr=127.0.0.1:{port}",
            "-search.latencyOffset=0s",
            "-search.disableCache",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: urllib.request.urlopen(f"{url}/health", timeout=1).status == 200, 30,
                 "victoria-metrics")
        yield VictoriaMetrics(url)
    finally:
        _stop(process)
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class MqttBroker:
    host: str
    port: int
    process: subprocess.Popen
    config_path: Path


@contextlib.contextmanager
def mosquitto(extra_config: str = "") -> Iterator[MqttBroker]:
    """Run Debian's mosquitto on a loopback port, anonymous access allowed."""
    binary = require_binary("mosquitto", "mosquitto")
    base = _world_writable_dir("mosquitto-")
    port = free_port()
    config_path = base / "mosquitto.conf"
    config_path.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
        f"persistence_location {base}/\n{extra_config}\n"
    )
    process = subprocess.Popen([binary, "-c", str(config_path)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: socket.create_connection(("127.0.0.1", port), timeout=0.5).close() is None,
                 15, "mosquitto")
        broker = MqttBroker("127.0.0.1", port, process, config_path)
        yield broker
    finally:
        # restart_mosquitto() replaces broker.process; stop whichever runs now.
        _stop(broker.process if "broker" in locals() else process)
        shutil.rmtree(base, ignore_errors=True)


KAMAILIO_MODULES = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")

# Answers OPTIONS with sl_send_reply according to the shared variable $shv(mode):
# "200", "503", "403", "tcp-only" (UDP requests dropped) or "drop". A request
# to the user "control" sets the mode from its X-Mode header, so a test can
# switch the behaviour while kamailio keeps running.
_KAMAILIO_SCRIPT = """#!KAMAILIO
debug=1
log_stderror=yes
fork=yes
children=2
tcp_children=2
auto_aliases=no
listen=udp:127.0.0.1:{port}
listen=tcp:127.0.0.1:{port}
mpath="{modules}/"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "textops.so"
loadmodule "siputils.so"
modparam("pv", "shvset", "mode=s:{mode}")

request_route {{
    if ($rU == "control") {{
        $shv(mode) = $hdr(X-Mode);
        sl_send_reply("200", "Mode Set");
        exit;
    }}
    if ($shv(mode) == "drop") {{
        exit;
    }}
    if ($shv(mode) == "tcp-only" && $pr == "udp") {{
        exit;
    }}
    if ($shv(mode) == "503") {{
        sl_send_reply("503", "Service Unavailable");
        exit;
    }}
    if ($shv(mode) == "403") {{
        sl_send_reply("403", "Forbidden");
        exit;
    }}
    sl_send_reply("200", "OK");
}}
"""


@dataclass
class Kamailio:
    host: str
    port: int
    """The same port number serves UDP and TCP."""
    process: subprocess.Popen

    def set_mode(self, mode: str) -> None:
        """Switch the answer to OPTIONS: "200", "503", "403", "tcp-only" or "drop"."""
        response = _sip_request(self.host, self.port, "control", {"X-Mode": mode})
        if not response.startswith(b"SIP/2.0 200"):
            raise RuntimeError(f"kamailio did not accept mode {mode!r}: {response[:80]!r}")


@contextlib.contextmanager
def kamailio(mode: str = "200") -> Iterator[Kamailio]:
    """Run Debian's kamailio on one free loopback port (UDP and TCP) answering OPTIONS."""
    binary = require_binary("kamailio", "kamailio")
    if not (KAMAILIO_MODULES / "sl.so").exists():
        pytest.skip(f"kamailio modules not found in {KAMAILIO_MODULES}")
    base = _world_writable_dir("kamailio-")
    port = _free_udp_and_tcp_port()
    config = base / "kamailio.cfg"
    config.write_text(_KAMAILIO_SCRIPT.format(port=port, modules=KAMAILIO_MODULES, mode=mode))
    log_file = open(base / "kamailio.log", "wb")  # noqa: SIM115 - closed in finally
    process = subprocess.Popen(
        [binary, "-f", str(config), "-DD", "-E", "-Y", str(base), "-P", str(base / "pid")],
        stdout=log_file, stderr=log_file,
    )
    server = Kamailio("127.0.0.1", port, process)
    try:
        wait_for(
            lambda: process.poll() is not None
            or _sip_request("127.0.0.1", port, "control", {"X-Mode": mode}).startswith(b"SIP/2.0"),
            20,
            "kamailio",
        )
        if process.poll() is not None:
            log_text = (base / "kamailio.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"kamailio exited with {process.returncode}: {log_text}")
        yield server
    finally:
        _stop(process)
        log_file.close()
        shutil.rmtree(base, ignore_errors=True)


def _free_udp_and_tcp_port() -> int:
    """Return a port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        port = free_port(socket.SOCK_DGRAM)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no port free for both UDP and TCP on 127.0.0.1")


def _sip_request(host: str, port: int, user: str, headers: dict[str, str]) -> bytes:
    """Send one hand-built OPTIONS over UDP and return the first datagram back (or b"")."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        local_port = sock.getsockname()[1]
        branch = f"z9hG4bKtest{time.monotonic_ns()}"
        lines = [
            f"OPTIONS sip:{user}@{host}:{port} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};branch={branch};rport",
            "Max-Forwards: 70",
            "From: <sip:test@127.0.0.1>;tag=test",
            f"To: <sip:{user}@{host}:{port}>",
            f"Call-ID: {branch}@127.0.0.1",
            "CSeq: 1 OPTIONS",
            *(f"{name}: {value}" for name, value in headers.items()),
            "Content-Length: 0",
        ]
        sock.settimeout(0.5)
        sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), (host, port))
        try:
            return sock.recvfrom(65535)[0]
        except TimeoutError:
            return b""


class RestartableInflux(InfluxServer):
    """An InfluxDB 1.x whose process can be stopped and started again on the same data."""

    def __init__(self, url: str, database: str, command: list[str], log_path: Path) -> None:
        super().__init__(url, database)
        self.command = command
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(self.command, stdout=log_file, stderr=log_file)
        wait_for(lambda: urllib.request.urlopen(f"{self.url}/ping", timeout=1).status == 204, 30,
                 "influxd")

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None

    def create_database(self, name: str) -> None:
        request = urllib.request.Request(
            f"{self.url}/query", data=urllib.parse.urlencode({"q": f'CREATE DATABASE "{name}"'}).encode()
        )
        urllib.request.urlopen(request, timeout=10).read()


@contextlib.contextmanager
def influxdb_v1_restartable(database: str = "hotline") -> Iterator[RestartableInflux]:
    """Like `influxdb_v1`, but the test may `stop()` and `start()` the server (same port and data)."""
    binary = require_binary("influxd", "influxdb")
    base, http_port = _influxdb_folder()
    server = RestartableInflux(f"http://127.0.0.1:{http_port}", database,
                               [binary, "-config", str(base / "influxdb.conf")],
                               base / "influxd.log")
    try:
        server.start()
        server.create_database(database)
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def restart_mosquitto(broker: MqttBroker, down_s: float = 0.0) -> None:
    """Stop the broker (it saves its persistence file on SIGTERM), wait, start it again."""
    _stop(broker.process)
    time.sleep(down_s)
    broker.process = subprocess.Popen(["mosquitto", "-c", str(broker.config_path)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: socket.create_connection((broker.host, broker.port), timeout=0.5).close()
             is None, 15, "mosquitto")


@dataclass
class UpsdServer:
    port: int
    ups: str
    upsd_pid: int
    driver_pid: int


@contextlib.contextmanager
def upsd_dummy(dev_text: str, ups: str = "bench", users: str = "") -> Iterator[UpsdServer]:
    """Serve a `.dev` file (NUT variables, `name: value` lines) with Debian's upsd and dummy-ups.

    Both run as the `nut` user when started as root, as Debian's units run them.
    """
    upsd = require_binary("upsd", "nut-server")
    if upsd == "/usr/sbin/upsd" and os.access("/lib/nut/upsd", os.X_OK):
        upsd = "/lib/nut/upsd"  # Debian's /usr/sbin/upsd is a wrapper that reads /etc/nut/nut.conf
    driver = require_binary("dummy-ups", "nut-server")
    base = _world_writable_dir("upsd-")
    port = free_port()
    (base / f"{ups}.dev").write_text(dev_text)
    (base / "ups.conf").write_text(f'[{ups}]\n  driver = dummy-ups\n  port = {base / ups}.dev\n  desc = "Bench UPS"\n')
    (base / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {port}\nMAXAGE 15\n")
    (base / "upsd.users").write_text(users)
    for path in base.iterdir():
        path.chmod(0o644)
    environment = dict(os.environ, NUT_CONFPATH=str(base), NUT_STATEPATH=str(base),
                       NUT_ALTPIDPATH=str(base))
    run_as = ["-u", "nut"] if os.geteuid() == 0 else []

    # -D keeps both in the foreground (and logs at debug level 1).
    driver_process = subprocess.Popen([driver, "-a", ups, *run_as, "-D"], env=environment,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    upsd_process: subprocess.Popen | None = None
    try:
        wait_for(lambda: (base / f"dummy-ups-{ups}").exists(), 15, "dummy-ups socket")
        with (base / "upsd.log").open("w") as upsd_log:
            upsd_process = subprocess.Popen([upsd, *run_as, "-D"], env=environment,
                                            stdout=upsd_log, stderr=subprocess.STDOUT)
        names = {line.split(":", 1)[0].strip() for line in dev_text.splitlines() if ":" in line}
        try:
            wait_for(lambda: names <= _nut_variables(port, ups), 15, "upsd serving every variable")
        except TimeoutError as err:
            raise RuntimeError(f"{err}; upsd log: {(base / 'upsd.log').read_text()[-1500:]}") from err
        yield UpsdServer(port, ups, upsd_process.pid, driver_process.pid)
    finally:
        if upsd_process is not None:
            _stop(upsd_process)
        _stop(driver_process)
        shutil.rmtree(base, ignore_errors=True)


def _nut_variables(port: int, ups: str) -> set[str]:
    """Return the names of the variables a NUT server lists for the UPS (none while it starts)."""
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        reader = sock.makefile("r", encoding="ascii", errors="replace")
        sock.sendall(f"LIST VAR {ups}\n".encode())
        names = set()
        for line in reader:
            if line.startswith("VAR "):
                names.add(line.split(" ", 3)[2])
            elif not line.startswith("BEGIN LIST"):
                break
        return names
