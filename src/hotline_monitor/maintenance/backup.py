"""Online backup of the ledger (sqlite3's backup API) and a copy of the archive.

`backup` copies the ledger while the agent keeps writing to it: the backup
API copies pages under a read lock and restarts when a writer changes a page
it already copied, so the result is one consistent snapshot. The archive's
files never change once written except `results.json`, so it is mirrored by
copying files that are new or changed. `restore` checks a backup with
`PRAGMA integrity_check` before it copies it over the ledger.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from hotline_monitor.errors import ConfigError
from hotline_monitor.maintenance.timeinput import NS

log = logging.getLogger(__name__)

PREFIX = "ledger-"


def backup(ledger_path: Path, archive_dir: Path, folder: Path, keep: int, now_ns: int) -> Path:
    """Write `ledger-YYYYMMDDTHHMMSSZ.sqlite` to `folder` and mirror the archive.

    Only the newest `keep` ledger backups are kept.
    """
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromtimestamp(now_ns / NS, UTC).strftime("%Y%m%dT%H%M%SZ")
    target = folder / f"{PREFIX}{stamp}.sqlite"
    temporary = target.with_suffix(".sqlite.tmp")

    source = sqlite3.connect(ledger_path)
    destination = sqlite3.connect(temporary)
    try:
        with destination:
            source.backup(destination)
    finally:
        destination.close()
        source.close()
    temporary.replace(target)

    copied = _mirror(archive_dir, folder / "archive")
    removed = _prune(folder, keep)
    log.info("ledger backed up to %s (%d archive files copied, %d old backups removed)",
             target, copied, removed)
    return target


def restore(backup_path: Path, ledger_path: Path) -> None:
    """Check `backup_path` and copy it over the ledger with the backup API.

    Raises ConfigError when the file is missing or is not an intact ledger.
    """
    if not backup_path.is_file():
        raise ConfigError([f"备份文件不存在：{backup_path}"])
    try:
        source = sqlite3.connect(f"file:{backup_path}?mode=ro", uri=True)
        try:
            status = source.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {row[0] for row in source.execute(
                "SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            source.close()
    except sqlite3.DatabaseError as err:
        raise ConfigError([f"{backup_path} 不是有效的 SQLite 文件：{err}"]) from err
    if status != "ok":
        raise ConfigError([f"{backup_path} 已损坏（integrity_check：{status}），请换一个备份"])
    if not {"windows", "notices", "interruptions"} <= tables:
        raise ConfigError([f"{backup_path} 不是台账备份（缺少 windows/notices/interruptions 表）"])

    ledger_path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{backup_path}?mode=ro", uri=True)
    destination = sqlite3.connect(ledger_path)
    try:
        with destination:
            source.backup(destination)
    finally:
        destination.close()
        source.close()
    log.info("ledger %s restored from %s", ledger_path, backup_path)


def backups(folder: Path) -> list[Path]:
    """Return the backups in `folder`, oldest first (the names sort by time)."""
    return sorted(folder.glob(f"{PREFIX}*.sqlite"))


def _prune(folder: Path, keep: int) -> int:
    old = backups(folder)[:-keep]
    for path in old:
        path.unlink()
    return len(old)


def _mirror(source: Path, target: Path) -> int:
    if not source.is_dir():
        return 0
    copied = 0
    for path in source.rglob("*"):
        if not path.is_file() or path.name.endswith(".tmp"):
            continue
        destination = target / path.relative_to(source)
        stat = path.stat()
        if destination.exists() and destination.stat().st_size == stat.st_size \
                and destination.stat().st_mtime >= stat.st_mtime:
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
        copied += 1
    return copied
