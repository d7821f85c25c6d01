"""SNMP v3 (USM) against snmpsimd, whose agent is pysnmp 4.4: every auth and privacy protocol."""

from __future__ import annotations

import asyncio

import pytest
from servers import snmpsim
from snmp_support import FIXTURES

from hotline_monitor.collectors.ups_snmp.collector import SnmpUpsCollector
from hotline_monitor.config.model import UpsConfig
from hotline_monitor.errors import DeviceAuthError, DeviceUnreachable

AUTH_KEY = "auth-secret-1"
PRIV_KEY = "priv-secret-1"

# (auth protocol, privacy protocol); snmpsimd's names are the same as ours.
PROTOCOLS = [
    ("MD5", "DES"),
    ("SHA", "AES"),
    ("SHA224", "AES"),
    ("SHA256", "AES"),
    ("SHA384", "AES192"),
    ("SHA512", "AES256"),
    ("SHA256", "DES"),
    ("SHA", None),
]


def user_name(auth: str, priv: str | None) -> str:
    return f"u-{auth}-{priv or 'nopriv'}".lower()


@pytest.fixture(scope="module")
def agent():
    users = []
    for auth, priv in PROTOCOLS:
        user = {"user": user_name(auth, priv), "auth-key": AUTH_KEY, "auth-proto": auth}
        if priv:
            user.update({"priv-key": PRIV_KEY, "priv-proto": priv})
        users.append(user)
    with snmpsim({"onbattery": FIXTURES / "ups100k_on_battery.snmprec"}, v3_users=users) as served:
        yield served


def v3_ups(port: int, auth: str, priv: str | None, auth_key: str = AUTH_KEY,
           priv_key: str = PRIV_KEY) -> UpsConfig:
    snmp = {"host": "127.0.0.1", "port": port, "version": 3, "user": user_name(auth, priv),
            "auth_protocol": auth, "auth_key": auth_key, "context": "onbattery", "timeout": 1,
            "retries": 0}
    if priv:
        snmp.update(priv_protocol=priv, priv_key=priv_key)
    return UpsConfig(id="ups-v3", snmp=snmp)


async def poll_twice(ups: UpsConfig):
    collector = SnmpUpsCollector(ups, site="test-site")
    try:
        await collector.poll()
        return await collector.poll()
    finally:
        await collector.close()


@pytest.mark.parametrize(("auth", "priv"), PROTOCOLS, ids=[user_name(*item) for item in PROTOCOLS])
def test_v3_protocol_reads_fixture(agent, auth, priv):
    result = asyncio.run(poll_twice(v3_ups(agent.port, auth, priv)))
    ups = next(reading for reading in result.readings if reading.measurement == "ups")
    assert ups.fields["runtime_s"] == 1500.0            # 1.2.3.0 = 25 min
    assert ups.fields["battery_current_a"] == -123.4    # 1.2.6.0 = -1234 tenths
    assert result.invalid_values == 5


def test_v3_wrong_auth_key(agent):
    ups = v3_ups(agent.port, "SHA256", "AES", auth_key="wrong-secret")
    with pytest.raises(DeviceAuthError, match=r"用户名或密码错误 \(usmStatsWrongDigests\)"):
        asyncio.run(poll_twice(ups))


def test_v3_wrong_auth_protocol(agent):
    # The user exists with SHA256; SHA512 gives another key and digest length.
    ups = v3_ups(agent.port, "SHA512", "AES")
    ups = UpsConfig(id="ups-v3", snmp={**ups.snmp.model_dump(), "user": "u-sha256-aes"})
    with pytest.raises(DeviceAuthError, match=r"usmStatsWrongDigests"):
        asyncio.run(poll_twice(ups))


def test_v3_unknown_user_no_answer(agent):
    # snmpsimd sends no usmStatsUnknownUserNames report (net-snmp's snmpget
    # sees a timeout too); the report's message is tested in test_ups_snmp_usm.
    ups = UpsConfig(id="ups-v3", snmp={**v3_ups(agent.port, "SHA256", "AES").snmp.model_dump(),
                                       "user": "nobody-here"})
    with pytest.raises(DeviceUnreachable, match="未响应"):
        asyncio.run(poll_twice(ups))


def test_v3_wrong_priv_key_no_answer(agent):
    # snmpsimd drops a request it cannot decrypt without a report, so all the
    # client sees is silence.
    ups = v3_ups(agent.port, "SHA256", "AES", priv_key="wrong-secret")
    with pytest.raises(DeviceUnreachable, match="未响应"):
        asyncio.run(poll_twice(ups))
