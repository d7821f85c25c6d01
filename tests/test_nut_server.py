"""The NUT server against Debian's upsc and a plain protocol connection.

Expected values are worked out by hand from the readings each test feeds.
"""

from __future__ import annotations

import subprocess

import pytest
from nut_support import NutConnection, line_reading, nut_server, ups_reading
from servers import require_binary

from hotline_monitor import __version__
from hotline_monitor.nut.config import NutServerConfig
from hotline_monitor.reading import Reading

USERS = [
    {"name": "monprimary", "password": "s3cret-A", "ups": ["ups-main"], "primary": True},
    {"name": "monsecondary", "password": "s3cret-B", "ups": ["ups-main"]},
    {"name": "other", "password": "s3cret-C", "ups": ["ups-spare"]},
]


def config(**overrides) -> NutServerConfig:
    values = {"users": USERS, "anonymous_ups": ["ups-main"], "max_age": 15, "shutdown_threshold": 600}
    values.update(overrides)
    return NutServerConfig.model_validate(values)


def three_phase_readings() -> list[Reading]:
    readings = [
        ups_reading("ups-main", on_battery=0, output_source=3, charge_pct=95, runtime_s=1834.6,
                    battery_voltage_v=409.6, battery_current_a=1.25, battery_temperature_c=24.5,
                    input_frequency_hz=50.02, output_frequency_hz=50, input_lines=3, output_lines=3,
                    load_pct_max=42.5),
        line_reading("ups-main", "input", 1, voltage_v=220.1, current_a=12.5),
        line_reading("ups-main", "input", 2, voltage_v=221.2),
        line_reading("ups-main", "input", 3, voltage_v=219.8),
        line_reading("ups-main", "output", 1, voltage_v=230.0, load_pct=40),
        line_reading("ups-main", "output", 2, voltage_v=229.5, load_pct=42.5),
        line_reading("ups-main", "output", 3, voltage_v=230.4, load_pct=38),
        Reading("ups_info", {"site": "test", "ups": "ups-main"},
                {"manufacturer": "ACME", "model": "UPS-100K", "firmware": "V1.2"}),
    ]
    return readings


def upsc(*args: str) -> subprocess.CompletedProcess:
    binary = require_binary("upsc", "nut-client")
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=10)


def test_upsc_lists_and_reads_variables():
    with nut_server(config(), ["ups-main", "ups-spare"]) as running:
        running.feed(three_phase_readings())
        address = f"127.0.0.1:{running.port}"

        listed = upsc("-l", address)
        variables = upsc(f"ups-main@{address}")
        status = upsc(f"ups-main@{address}", "ups.status")

    # Only ups-main is readable without a login.
    assert listed.stdout.split() == ["ups-main"]
    assert status.stdout.strip() == "OL"
    shown = dict(line.split(": ", 1) for line in variables.stdout.splitlines())
    assert shown == {
        "battery.charge": "95",
        "battery.current": "1.25",
        "battery.runtime": "1835",
        "battery.runtime.low": "600",
        "battery.temperature": "24.5",
        "battery.voltage": "409.6",
        "device.mfr": "ACME",
        "device.model": "UPS-100K",
        "device.type": "ups",
        "driver.name": "hotline-monitor",
        "driver.version": __version__,
        "input.current": "12.5",
        "input.frequency": "50.02",
        "input.L1-N.voltage": "220.1",
        "input.L1.current": "12.5",
        "input.L2-N.voltage": "221.2",
        "input.L3-N.voltage": "219.8",
        "input.phases": "3",
        "input.voltage": "220.1",
        "output.frequency": "50",
        "output.L1-N.voltage": "230",
        "output.L1.power.percent": "40",
        "output.L2-N.voltage": "229.5",
        "output.L2.power.percent": "42.5",
        "output.L3-N.voltage": "230.4",
        "output.L3.power.percent": "38",
        "output.phases": "3",
        "output.voltage": "230",
        "ups.firmware": "V1.2",
        "ups.load": "42.5",
        "ups.mfr": "ACME",
        "ups.model": "UPS-100K",
        "ups.status": "OL",
    }
    # upsd lists variables sorted by name, ignoring case.
    names = [line.split(": ", 1)[0] for line in variables.stdout.splitlines()]
    assert names == sorted(names, key=str.lower)


def test_upsc_unknown_ups_and_stale_data():
    with nut_server(config(), ["ups-main"]) as running:
        address = f"127.0.0.1:{running.port}"
        never_read = upsc(f"ups-main@{address}", "ups.status")
        running.feed([ups_reading("ups-main", age_s=20, on_battery=0, charge_pct=100)])
        stale = upsc(f"ups-main@{address}", "ups.status")
        unknown = upsc(f"ups-nope@{address}", "ups.status")

    assert never_read.returncode != 0
    assert "Data stale" in never_read.stderr
    assert stale.returncode != 0
    assert "Data stale" in stale.stderr
    assert unknown.returncode != 0
    assert "Unknown UPS" in unknown.stderr


def test_stale_data_is_never_served():
    with nut_server(config(), ["ups-main"]) as running, NutConnection(running.port) as nut:
        running.feed([ups_reading("ups-main", age_s=16, on_battery=0, charge_pct=100)])
        stale_get = nut.request("GET VAR ups-main ups.status")
        stale_list = nut.request_list("LIST VAR ups-main")
        stale_logins = nut.request("GET NUMLOGINS ups-main")

        running.feed([ups_reading("ups-main", age_s=14, on_battery=0, charge_pct=100)])
        fresh = nut.request("GET VAR ups-main ups.status")

    assert stale_get == "ERR DATA-STALE"
    assert stale_list == ["ERR DATA-STALE"]
    assert stale_logins == "ERR DATA-STALE"
    assert fresh == 'VAR ups-main ups.status "OL"'


def test_wrong_password_and_unknown_ups_errors():
    with nut_server(config(), ["ups-main", "ups-spare"]) as running:
        running.feed([ups_reading("ups-main", on_battery=0, charge_pct=100)])
        with NutConnection(running.port) as nut:
            replies = [
                nut.request("LOGIN ups-main"),
                nut.request("USERNAME monprimary"),
                nut.request("USERNAME again"),
                nut.request("LOGIN ups-main"),
                nut.request("PASSWORD wrong"),
                nut.request("PASSWORD again"),
                nut.request("LOGIN ups-main"),
                nut.request("LOGIN ups-nope"),
                nut.request("PRIMARY ups-main"),
                nut.request("FSD ups-main"),
            ]
        with NutConnection(running.port) as nut:
            other = [
                nut.request("USERNAME other"),
                nut.request("PASSWORD s3cret-C"),
                nut.request("GET VAR ups-main ups.status"),
                nut.request("LOGIN ups-main"),
                nut.request("GET VAR ups-spare ups.status"),
            ]

    assert replies == [
        "ERR USERNAME-REQUIRED",
        "OK",
        "ERR ALREADY-SET-USERNAME",
        "ERR PASSWORD-REQUIRED",
        "OK",
        "ERR ALREADY-SET-PASSWORD",
        "ERR ACCESS-DENIED",
        "ERR UNKNOWN-UPS",
        "ERR ACCESS-DENIED",
        "ERR ACCESS-DENIED",
    ]
    # `other` may read ups-spare only, and ups-main is open to everyone here.
    assert other == ["OK", "OK", 'VAR ups-main ups.status "OL"', "ERR ACCESS-DENIED", "ERR DATA-STALE"]


def test_nothing_can_change_the_ups():
    with nut_server(config(), ["ups-main"]) as running, NutConnection(running.port) as nut:
        running.feed([ups_reading("ups-main", on_battery=0, charge_pct=100)])
        anonymous_set = nut.request("SET VAR ups-main ups.delay.shutdown 20")
        nut.request("USERNAME monprimary")
        nut.request("PASSWORD s3cret-A")
        replies = [
            nut.request("SET VAR ups-main ups.delay.shutdown 20"),
            nut.request("INSTCMD ups-main load.off"),
            nut.request("INSTCMD ups-nope load.off"),
        ]
        commands = nut.request_list("LIST CMD ups-main")
        writable = nut.request_list("LIST RW ups-main")

    assert anonymous_set == "ERR USERNAME-REQUIRED"
    assert replies == ["ERR ACCESS-DENIED", "ERR ACCESS-DENIED", "ERR UNKNOWN-UPS"]
    assert commands == ["BEGIN LIST CMD ups-main", "END LIST CMD ups-main"]
    assert writable == ["BEGIN LIST RW ups-main", "END LIST RW ups-main"]


def test_misc_commands_answer_like_upsd():
    with nut_server(config(), ["ups-main"]) as running, NutConnection(running.port) as nut:
        running.feed([ups_reading("ups-main", on_battery=0, charge_pct=87.5)])
        replies = {
            "NETVER": nut.request("NETVER"),
            "HELP": nut.request("HELP"),
            "STARTTLS": nut.request("STARTTLS"),
            "bogus": nut.request("FROB ups-main"),
            "unterminated": nut.request('GET VAR "ups-main ups.status'),
            "quoted": nut.request('get var "ups-main" battery.charge'),
            "missing": nut.request("GET VAR ups-main input.voltage"),
            "type": nut.request("GET TYPE ups-main battery.charge"),
            "type status": nut.request("GET TYPE ups-main ups.status"),
            "desc": nut.request("GET DESC ups-main battery.charge"),
            "upsdesc": nut.request("GET UPSDESC ups-main"),
            "short": nut.request("GET VAR ups-main"),
            "numlogins": nut.request("GET NUMLOGINS ups-main"),
        }
        goodbye = nut.request("LOGOUT")
        closed = nut.reader.readline()

    assert replies == {
        "NETVER": "1.3",
        "HELP": "Commands: HELP VER GET LIST SET INSTCMD LOGIN LOGOUT USERNAME PASSWORD STARTTLS",
        "STARTTLS": "ERR FEATURE-NOT-CONFIGURED",
        "bogus": "ERR UNKNOWN-COMMAND",
        "unterminated": "ERR UNKNOWN-COMMAND",
        "quoted": 'VAR ups-main battery.charge "87.5"',
        "missing": "ERR VAR-NOT-SUPPORTED",
        "type": "TYPE ups-main battery.charge NUMBER",
        "type status": "TYPE ups-main ups.status STRING:64",
        # Debian's upsd 2.8.0 returns this text from /usr/share/nut/cmdvartab.
        "desc": 'DESC ups-main battery.charge "Battery charge (percent of full)"',
        "upsdesc": 'UPSDESC ups-main "ups-main UPS"',
        "short": "ERR INVALID-ARGUMENT",
        "numlogins": "NUMLOGINS ups-main 0",
    }
    assert goodbye == "OK Goodbye"
    assert closed == ""  # the server closes the connection after LOGOUT, as upsd does


def test_login_primary_fsd_and_client_list():
    with nut_server(config(), ["ups-main"]) as running:
        running.feed([ups_reading("ups-main", on_battery=1, charge_pct=50, runtime_s=900)])
        with NutConnection(running.port) as primary, NutConnection(running.port) as secondary:
            for nut, name, password in ((primary, "monprimary", "s3cret-A"),
                                        (secondary, "monsecondary", "s3cret-B")):
                nut.request(f"USERNAME {name}")
                nut.request(f"PASSWORD {password}")
                assert nut.request("LOGIN ups-main") == "OK"
            twice = primary.request("LOGIN ups-main")
            logins = primary.request("GET NUMLOGINS ups-main")
            clients = primary.request_list("LIST CLIENT ups-main")
            secondary_primary = secondary.request("PRIMARY ups-main")
            secondary_fsd = secondary.request("FSD ups-main")
            before = secondary.request("GET VAR ups-main ups.status")
            granted = primary.request("PRIMARY ups-main")
            master = primary.request("MASTER ups-main")
            fsd = primary.request("FSD ups-main")
            after = secondary.request("GET VAR ups-main ups.status")
            listed = [line for line in secondary.request_list("LIST VAR ups-main") if "ups.status" in line]
        with NutConnection(running.port) as nut:
            logins_after = nut.request("GET NUMLOGINS ups-main")

    assert twice == "ERR ALREADY-LOGGED-IN"
    assert logins == "NUMLOGINS ups-main 2"
    assert clients == ["BEGIN LIST CLIENT ups-main", "CLIENT ups-main 127.0.0.1",
                       "CLIENT ups-main 127.0.0.1", "END LIST CLIENT ups-main"]
    assert secondary_primary == "ERR ACCESS-DENIED"
    assert secondary_fsd == "ERR ACCESS-DENIED"
    assert before == 'VAR ups-main ups.status "OB"'
    assert granted == "OK PRIMARY-GRANTED"
    assert master == "OK MASTER-GRANTED"
    assert fsd == "OK FSD-SET"
    assert after == 'VAR ups-main ups.status "FSD OB"'
    assert listed == ['VAR ups-main ups.status "FSD OB"']
    assert logins_after == "NUMLOGINS ups-main 0"


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        # Charge 80 -> 72 % over 120 s: 2 % per 30 s, so reaching the 10 % cut-off
        # takes (72 - 10) * 15 = 930 s, under 1200 s although the UPS reports 1380 s.
        (1200, "OB LB"),
        (900, "OB"),
    ],
)
def test_low_battery_from_discharge_forecast(threshold, expected):
    charges = [80, 78, 76, 74, 72]
    runtimes = [1500, 1470, 1440, 1410, 1380]  # falls 1 s per second: no correction
    readings = [
        ups_reading("ups-main", age_s=120 - 30 * index, on_battery=1, charge_pct=charge, runtime_s=runtime)
        for index, (charge, runtime) in enumerate(zip(charges, runtimes, strict=True))
    ]
    with nut_server(config(shutdown_threshold=threshold, max_age=200), ["ups-main"]) as running, \
            NutConnection(running.port) as nut:
        running.feed(readings)
        status = nut.request("GET VAR ups-main ups.status")
    assert status == f'VAR ups-main ups.status "{expected}"'


def test_low_battery_from_ups_flags_and_status_words():
    with nut_server(config(), ["ups-main"]) as running, NutConnection(running.port) as nut:
        running.feed([ups_reading("ups-main", on_battery=1, battery_status=3, runtime_s=3000)])
        ups_low = nut.request("GET VAR ups-main ups.status")
        running.feed([ups_reading("ups-main", on_battery=1, battery_status=2, runtime_s=599)])
        runtime_low = nut.request("GET VAR ups-main ups.status")
        running.feed([
            ups_reading("ups-main", on_battery=0, on_bypass=1, output_source=4, battery_status=2,
                        load_pct_max=104),
            Reading("ups_alarm", {"site": "test", "ups": "ups-main", "alarm": "upsAlarmBatteryBad"},
                    {"active": 1.0}),
        ])
        bypass = nut.request("GET VAR ups-main ups.status")

    assert ups_low == 'VAR ups-main ups.status "OB LB"'
    assert runtime_low == 'VAR ups-main ups.status "OB LB"'
    assert bypass == 'VAR ups-main ups.status "OL BYPASS RB OVER"'


def test_drill_readings_are_ignored():
    with nut_server(config(), ["ups-main"]) as running, NutConnection(running.port) as nut:
        running.feed([ups_reading("ups-main", on_battery=0, charge_pct=100)])
        drill = ups_reading("ups-main", on_battery=1, charge_pct=5, runtime_s=30)
        drill.tags["drill"] = "1"
        running.feed([drill])
        status = nut.request("GET VAR ups-main ups.status")
    assert status == 'VAR ups-main ups.status "OL"'


def test_connection_limits():
    limited = config(max_clients=1, idle_timeout=1)
    with nut_server(limited, ["ups-main"]) as running, NutConnection(running.port) as first:
        assert first.request("NETVER") == "1.3"
        with NutConnection(running.port) as second:
            # Over max_clients: closed without a reply.
            assert second.reader.readline() == ""
        # Silent for longer than idle_timeout: closed.
        assert first.reader.readline() == ""

    with nut_server(config(), ["ups-main"]) as running, NutConnection(running.port) as nut:
        nut.sock.sendall(b"GET VAR " + b"x" * 2000 + b"\n")
        assert nut.reader.readline() == ""


def test_failed_logins_logged_once_a_minute(caplog):
    with nut_server(config(), ["ups-main"]) as running:
        for _ in range(3):
            with NutConnection(running.port) as nut:
                nut.request("USERNAME monprimary")
                nut.request("PASSWORD wrong")
                assert nut.request("LOGIN ups-main") == "ERR ACCESS-DENIED"

    warnings = [record for record in caplog.records if record.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "wrong password or unknown user 'monprimary'" in warnings[0].getMessage()


def test_fsd_held_until_mains_back_five_minutes():
    from hotline_monitor.config.model import UpsConfig
    from hotline_monitor.nut.latest import LatestReadings
    from hotline_monitor.nut.server import NutServer, Session

    now = {"ns": 1_800_000_000 * 10**9}
    latest = LatestReadings()
    server = NutServer(config(), [UpsConfig(id="ups-main", snmp={"host": "127.0.0.1"})], latest,
                       clock=lambda: now["ns"])
    primary = Session("127.0.0.1")

    def at(seconds: float, on_battery: int) -> str:
        now["ns"] += int(seconds * 10**9)
        latest.observe([Reading("ups", {"ups": "ups-main"}, {"on_battery": on_battery}, now["ns"])])
        return server.handle_line(Session("127.0.0.1"), "GET VAR ups-main ups.status")

    at(0, 1)
    for line in ("USERNAME monprimary", "PASSWORD s3cret-A"):
        server.handle_line(primary, line)
    assert server.handle_line(primary, "FSD ups-main") == "OK FSD-SET\n"

    assert at(10, 1) == 'VAR ups-main ups.status "FSD OB"\n'
    assert at(10, 0) == 'VAR ups-main ups.status "FSD OL"\n'  # mains back: held 300 s from here
    assert at(299, 0) == 'VAR ups-main ups.status "FSD OL"\n'
    assert at(1, 0) == 'VAR ups-main ups.status "OL"\n'
