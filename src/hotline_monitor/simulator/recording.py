"""Read `.snmprec` recordings (snmpsim's format: `OID|TYPE|VALUE`, one a line).

TYPE is the BER tag number (2 Integer, 4 OctetString, 5 Null, 6 OID,
64 IpAddress, 65 Counter32, 66 Gauge32, 67 TimeTicks, 70 Counter64); an `x`
after it means VALUE is written in hex. A `:module` after the tag names an
snmpsim variation module; the simulator serves the recorded value as is.
"""

from __future__ import annotations

from pathlib import Path

from hotline_monitor.errors import ConfigError

Oid = tuple[int, ...]
Value = tuple[int, object]
"""(BER tag as in .snmprec, Python value: int, str, bytes, Oid or None)."""

KNOWN_TAGS = {2, 4, 5, 6, 64, 65, 66, 67, 68, 70}


def parse_oid(text: str) -> Oid:
    return tuple(int(part) for part in text.strip().strip(".").split("."))


def oid_text(oid: Oid) -> str:
    return ".".join(str(part) for part in oid)


def load_recording(path: Path) -> dict[Oid, Value]:
    """Parse a recording; raise ConfigError naming each bad line."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise ConfigError([f"录制文件 {path} 无法读取：{err.strerror or err}"]) from err

    values: dict[Oid, Value] = {}
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        try:
            oid, value = _parse_line(line)
        except ValueError as err:
            problems.append(f"{path}:{number}: {err}")
            continue
        values[oid] = value
    if problems:
        raise ConfigError(problems[:20])
    if not values:
        raise ConfigError([f"录制文件 {path} 中没有任何 OID 行"])
    return values


def _parse_line(line: str) -> tuple[Oid, Value]:
    parts = line.split("|", 2)
    if len(parts) != 3:
        raise ValueError(f"应为 OID|类型|值 三段，实际为 {line[:60]!r}")
    oid_part, tag_part, raw = parts
    try:
        oid = parse_oid(oid_part)
    except ValueError:
        raise ValueError(f"OID {oid_part!r} 无效") from None

    tag_text = tag_part.split(":", 1)[0]
    is_hex = tag_text.endswith("x")
    try:
        tag = int(tag_text.rstrip("x"))
    except ValueError:
        raise ValueError(f"类型 {tag_part!r} 无效") from None
    if tag not in KNOWN_TAGS:
        raise ValueError(f"类型 {tag} 不受支持")

    if is_hex:
        data = bytes.fromhex(raw)
        if tag == 4:
            return oid, (tag, data)
        raw = data.decode("ascii", errors="replace")
    return oid, (tag, _convert(tag, raw))


def _convert(tag: int, raw: str) -> object:
    if tag in (2, 65, 66, 67, 70):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"类型 {tag} 的值应为整数，实际为 {raw!r}") from None
    if tag == 5:
        return None
    if tag == 6:
        return parse_oid(raw)
    return raw
