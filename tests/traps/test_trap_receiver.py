"""The trap receiver against net-snmp's snmptrap: v1, v2c, inform and v3, good and bad credentials."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time

import pytest

from hotline_monitor.collectors.snmp_traps.config import TrapsConfig, TrapV3User
from hotline_monitor.collectors.snmp_traps.receiver import ReceivedTrap, TrapReceiver
from servers import free_port, require_binary

ENGINE_ID = "8000000001020304"
V3_USER = TrapV3User(user="upscard", auth_protocol="SHA256", auth_key="auth-secret-1",
                     priv_protocol="AES", priv_key="priv-secret-1", engine_id=ENGINE_ID)


def send(*args: str) -> subprocess.CompletedProcess:
    snmptrap = require_binary("snmptrap", "snmp")
    return subprocess.run([snmptrap, "-r", "0", "-t", "2", *args], capture_output=True, text=True, timeout=20)


async def receive(config: TrapsConfig, command: list[str], wait: float = 2.0) -> tuple[list[ReceivedTrap], TrapReceiver, subprocess.CompletedProcess]:
    received: list[ReceivedTrap] = []
    receiver = TrapReceiver(config, received.append)
    await receiver.start()
    try:
        result = await asyncio.to_thread(send, *command)
        deadline = time.monotonic() + wait
        while not received and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        receiver.check_rejections()
    finally:
        await receiver.close()
    return received, receiver, result


def config_on_free_port(**overrides) -> tuple[TrapsConfig, str]:
    port = free_port(socket.SOCK_DGRAM)
    config = TrapsConfig(listen=f"127.0.0.1:{port}", communities=["trapcomm"], v3_users=[V3_USER], **overrides)
    return config, f"127.0.0.1:{port}"


def test_v1_apc_trap_is_converted_to_v2_form():
    config, target = config_on_free_port()
    # v1 trap: enterprise apc (1.3.6.1.4.1.318), generic 6 (enterpriseSpecific), specific 5 (upsOnBattery).
    received, _, result = asyncio.run(receive(config, ["-v", "1", "-c", "trapcomm", target, "1.3.6.1.4.1.318", "127.0.0.1", "6", "5", ""]))

    assert result.returncode == 0, result.stderr
    assert len(received) == 1
    # RFC 3584 section 3.1: snmpTrapOID.0 = enterprise.0.specific-trap.
    assert received[0].trap_oid == "1.3.6.1.4.1.318.0.5"
    assert received[0].source == "127.0.0.1"


def test_v2c_trap_with_alarm_varbind():
    config, target = config_on_free_port()
    command = ["-v", "2c", "-c", "trapcomm", target, "", "1.3.6.1.2.1.33.2.3",
               "1.3.6.1.2.1.33.1.6.2.1.2.7", "o", "1.3.6.1.2.1.33.1.6.3.2"]

    received, _, result = asyncio.run(receive(config, command))

    assert result.returncode == 0, result.stderr
    assert received[0].trap_oid == "1.3.6.1.2.1.33.2.3"
    assert received[0].varbinds["1.3.6.1.2.1.33.1.6.2.1.2.7"] == "1.3.6.1.2.1.33.1.6.3.2"


def test_v2c_inform_is_acknowledged():
    config, target = config_on_free_port()
    # -Ci sends an InformRequest; snmptrap exits 0 only when our response arrives.
    received, _, result = asyncio.run(receive(config, ["-v", "2c", "-Ci", "-c", "trapcomm", target, "", "1.3.6.1.2.1.33.2.1"]))

    assert result.returncode == 0, result.stderr
    assert received[0].trap_oid == "1.3.6.1.2.1.33.2.1"


def test_v3_authpriv_trap_sha256_aes():
    config, target = config_on_free_port()
    command = ["-v", "3", "-e", f"0x{ENGINE_ID}", "-u", "upscard", "-l", "authPriv", "-a", "SHA-256",
               "-A", "auth-secret-1", "-x", "AES", "-X", "priv-secret-1", target, "", "1.3.6.1.2.1.33.2.1"]

    received, _, result = asyncio.run(receive(config, command))

    assert result.returncode == 0, result.stderr
    assert [trap.trap_oid for trap in received] == ["1.3.6.1.2.1.33.2.1"]


def test_wrong_community_is_counted_not_delivered():
    config, target = config_on_free_port()

    received, receiver, _ = asyncio.run(receive(config, ["-v", "2c", "-c", "guess", target, "", "1.3.6.1.2.1.33.2.1"], wait=1.0))

    assert received == []
    assert receiver.rejected["wrong community"] == 1


def test_wrong_v3_key_is_counted_not_delivered():
    config, target = config_on_free_port()
    command = ["-v", "3", "-e", f"0x{ENGINE_ID}", "-u", "upscard", "-l", "authPriv", "-a", "SHA-256",
               "-A", "wrong-secret-9", "-x", "AES", "-X", "priv-secret-1", target, "", "1.3.6.1.2.1.33.2.1"]

    received, receiver, _ = asyncio.run(receive(config, command, wait=1.0))

    assert received == []
    assert receiver.rejected["wrong SNMPv3 authentication key"] == 1


def test_unknown_v3_user_is_counted():
    config, target = config_on_free_port()
    command = ["-v", "3", "-e", f"0x{ENGINE_ID}", "-u", "intruder", "-l", "authNoPriv", "-a", "SHA",
               "-A", "whatever-123", target, "", "1.3.6.1.2.1.33.2.1"]

    received, receiver, _ = asyncio.run(receive(config, command, wait=1.0))

    assert received == []
    assert receiver.rejected["unknown SNMPv3 user"] == 1


def test_receive_buffer_is_applied():
    config, _ = config_on_free_port(receive_buffer=8 * 1024 * 1024)
    receiver = TrapReceiver(config, lambda trap: None)

    async def start_and_read() -> int:
        await receiver.start()
        size = receiver.receive_buffer_bytes
        await receiver.close()
        return size

    size = asyncio.run(start_and_read())

    # Linux doubles the requested size; without root it is capped at net.core.rmem_max.
    assert size >= 2 * 8 * 1024 * 1024 or size >= 2 * int(open("/proc/sys/net/core/rmem_max").read())
