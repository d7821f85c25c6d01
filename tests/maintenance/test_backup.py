"""Online backup of the ledger while it is written, and restore from a backup."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from hotline_monitor.errors import ConfigError
from hotline_monitor.maintenance.backup import backup, backups, restore
from hotline_monitor.maintenance.ledger import Ledger

from .conftest import at, request


def test_backup_while_writing_then_restore(service, config, tmp_path):
    service.add(request("2026-12-10 01:00", "2026-12-10 03:00"), at("2026-12-01 00:00"))
    ledger_path = config.state_dir / "ledger.sqlite"
    archive = config.state_dir / "archive"

    # A writer keeps adding interruptions while the backup copies the ledger.
    stop = threading.Event()

    def write() -> None:
        writer = Ledger(ledger_path)
        number = 0
        while not stop.is_set() and number < 5000:
            writer.record_interruption_start(f"w{number}", "hotline", number, "写入中", None, None)
            number += 1
        writer.close()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        path = backup(ledger_path, archive, tmp_path / "backup", 3, at("2026-12-02 03:00"))
    finally:
        stop.set()
        thread.join()

    assert path.name == "ledger-20261201T190000Z.sqlite"
    copy = sqlite3.connect(path)
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert copy.execute("SELECT kind FROM windows").fetchall() == [("线路检修",)]
    copy.close()
    assert (tmp_path / "backup" / "archive" / "2026-12" / "maint_1_notice" / "notice.txt").exists()

    # Lose the ledger, then restore it from the backup.
    service.close()
    for suffix in ("", "-wal", "-shm"):
        (config.state_dir / f"ledger.sqlite{suffix}").unlink(missing_ok=True)
    restore(path, ledger_path)
    restored = Ledger(ledger_path)
    assert [window.id for window in restored.windows()] == [1]
    assert restored.notices(window_id=1)[0].kind == "maintenance_notice"
    restored.close()


def test_backup_keeps_newest(service, config, tmp_path):
    folder = tmp_path / "backup"
    for day in range(1, 6):
        backup(config.state_dir / "ledger.sqlite", config.state_dir / "archive", folder, 3,
               at(f"2026-12-0{day} 03:00"))
    assert [path.name for path in backups(folder)] == ["ledger-20261202T190000Z.sqlite",
                                                       "ledger-20261203T190000Z.sqlite",
                                                       "ledger-20261204T190000Z.sqlite"]


def test_restore_rejects_damaged_file(tmp_path):
    damaged = tmp_path / "ledger-bad.sqlite"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    with pytest.raises(ConfigError, match="不是有效的 SQLite 文件|已损坏"):
        restore(damaged, tmp_path / "ledger.sqlite")


def test_restore_rejects_other_database(tmp_path):
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(ConfigError, match="不是台账备份"):
        restore(other, tmp_path / "ledger.sqlite")


def test_restore_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="备份文件不存在"):
        restore(tmp_path / "none.sqlite", tmp_path / "ledger.sqlite")
