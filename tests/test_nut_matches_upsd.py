"""Our replies match Debian's upsd 2.8.0 for the same requests on the same UPS."""

from __future__ import annotations

from nut_support import NutConnection, nut_server, ups_reading
from servers import upsd_dummy

from hotline_monitor.nut.config import NutServerConfig

# Anonymous first, then with a user that may not log in, as NUT clients send them.
REQUESTS = [
    "NETVER",
    "HELP",
    "STARTTLS",
    "FROB bench",
    "GET VAR bench battery.charge",
    "GET VAR bench ups.status",
    "GET VAR bench input.voltage",
    "GET VAR bench",
    "GET VAR nope ups.status",
    "LIST VAR nope",
    "LIST ENUM bench ups.status",
    "LIST RANGE bench ups.status",
    "LIST ENUM bench nope.var",
    "GET NUMLOGINS bench",
    "GET NUMLOGINS nope",
    "LOGIN bench",
    "SET VAR bench battery.charge 10",
    "INSTCMD bench load.off",
    "USERNAME mon",
    "USERNAME mon",
    "LOGIN bench",
    "PASSWORD wrong",
    "PASSWORD again",
    "LOGIN bench",
    "LOGIN nope",
    "PRIMARY bench",
    "MASTER bench",
    "FSD bench",
    "SET VAR bench battery.charge 10",
    "INSTCMD bench load.off",
    "INSTCMD nope load.off",
    "LOGOUT",
]


def replies(port: int) -> list[list[str]]:
    with NutConnection(port) as nut:
        return [nut.request_list(line) if line.startswith("LIST") else [nut.request(line)]
                for line in REQUESTS]


def test_replies_match_upsd():
    users = "[mon]\n  password = right\n"
    with upsd_dummy("battery.charge: 87\nups.status: OL\n", "bench", users) as upsd:
        theirs = replies(upsd.port)

    config = NutServerConfig.model_validate({
        "users": [{"name": "mon", "password": "right", "ups": ["bench"]}],
        "anonymous_ups": ["bench"],
    })
    with nut_server(config, ["bench"]) as running:
        running.feed([ups_reading("bench", on_battery=0, charge_pct=87)])
        ours = replies(running.port)

    for request, their_reply, our_reply in zip(REQUESTS, theirs, ours, strict=True):
        assert our_reply == their_reply, request
