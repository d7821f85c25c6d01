"""Register maps: YAML files that state where a UPS keeps each value and how to decode it.

A map is data, not code: adding a UPS model means writing a file, and a
mistake in it is reported before the agent starts, in Chinese, with the file,
line and key path (`huawei.yaml:31: values[4].type: ...`). The format is
described in docs/modbus.md and in the commented template `maps/generic.yaml`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hotline_monitor.collectors.ups_modbus import targets
from hotline_monitor.config.loader import _describe_error, _line_map, describe_yaml_error, format_path
from hotline_monitor.errors import ConfigError

MAPS_DIR = Path(__file__).resolve().parent / "maps"

Table = Literal["coils", "discrete_inputs", "holding", "input"]
DataType = Literal["int16", "uint16", "int32", "uint32", "float32", "float64", "string", "bit"]
WordOrder = Literal["ABCD", "CDAB", "BADC", "DCBA"]

BIT_TABLES = ("coils", "discrete_inputs")
FUNCTION_CODES = {"coils": 1, "discrete_inputs": 2, "holding": 3, "input": 4}
TABLE_NAMES = {"coils": "线圈", "discrete_inputs": "离散输入", "holding": "保持寄存器",
               "input": "输入寄存器"}
REGISTER_COUNTS = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2,
                   "float64": 4, "bit": 1}

# The Modbus application protocol (V1.1b3, section 6) allows at most 125
# registers per read of holding or input registers and 2000 coils or inputs.
MAX_REGISTERS_PER_REQUEST = 125
MAX_BITS_PER_REQUEST = 2000


class _MapModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BitMapping(_MapModel):
    """One bit of a register, coil or input mapped onto a target field."""

    bit: Annotated[int, Field(ge=0, le=63)]
    field: str
    set: float = 1.0
    """Value written when the bit is 1."""
    clear: float | None = 0.0
    """Value written when the bit is 0; null leaves the field unknown."""


class ValueSpec(_MapModel):
    """One value of the map: where it is, how it is encoded, where it goes."""

    field: str | None = None
    table: Table
    address: Annotated[int, Field(ge=0)]
    type: DataType
    order: WordOrder | None = None
    length: Annotated[int, Field(ge=1, le=MAX_REGISTERS_PER_REQUEST)] | None = None
    """Registers a string occupies (two characters each)."""
    bit: Annotated[int, Field(ge=0, le=15)] | None = None
    """For `type: bit` in a register table: which bit of the register (0 = least significant)."""
    scale: float = 1.0
    offset: float = 0.0
    unit: str | None = None
    unknown: list[float] = []
    """Raw values that mean "unknown" (sentinels), compared before scaling."""
    range: tuple[float, float] | None = None
    """Plausible range of the scaled value; anything outside is unknown."""
    enum: dict[int, float] | None = None
    """Raw value -> value stored in `field` (for example a vendor's mode onto RFC 1628 codes)."""
    bits: list[BitMapping] | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _check_shape(self) -> ValueSpec:
        if self.field is None and not self.bits:
            raise ValueError("必须填写 field（目标字段）或 bits（位映射）之一")
        if self.field is not None and self.bits:
            raise ValueError("field 与 bits 不能同时使用：位映射的目标写在 bits 的每一项里")
        if self.table in BIT_TABLES and self.type != "bit":
            raise ValueError(f"{TABLE_NAMES[self.table]}只能是 type: bit，当前为 {self.type}")
        if self.type == "string" and self.length is None:
            raise ValueError("type: string 必须填写 length（占用的寄存器个数）")
        if self.type != "string" and self.length is not None:
            raise ValueError("只有 type: string 才能填写 length")
        if self.type == "bit" and self.table not in BIT_TABLES and self.bit is None:
            raise ValueError("寄存器里的 type: bit 必须用 bit 指明第几位（0 为最低位）")
        if self.bit is not None and (self.type != "bit" or self.table in BIT_TABLES):
            raise ValueError("bit 只用于寄存器表里的 type: bit；多个位请用 bits 列表")
        if self.range is not None and self.range[0] > self.range[1]:
            raise ValueError(f"range 的下限 {self.range[0]:g} 大于上限 {self.range[1]:g}")
        if self.scale == 0:
            raise ValueError("scale 不能为 0")
        if self.bits and self.type in ("float32", "float64", "string"):
            raise ValueError(f"bits 只能用于整数类型，当前为 {self.type}")
        if self.enum is not None and self.type in ("float32", "float64", "string"):
            raise ValueError(f"enum 只能用于整数类型，当前为 {self.type}")
        return self

    @property
    def register_count(self) -> int:
        if self.type == "string":
            assert self.length is not None
            return self.length
        return REGISTER_COUNTS[self.type]

    @property
    def targets(self) -> list[str]:
        if self.bits:
            return [mapping.field for mapping in self.bits]
        assert self.field is not None
        return [self.field]


class RequestLimits(_MapModel):
    """Request limits of the device."""

    max_registers: Annotated[int, Field(ge=1, le=MAX_REGISTERS_PER_REQUEST)] = (
        MAX_REGISTERS_PER_REQUEST
    )
    max_bits: Annotated[int, Field(ge=1, le=MAX_BITS_PER_REQUEST)] = MAX_BITS_PER_REQUEST
    max_gap: Annotated[int, Field(ge=0, le=MAX_REGISTERS_PER_REQUEST)] = 8
    """Unmapped registers one request may read across to save a request; 0 for devices
    that respond with "illegal data address" for any register they do not define."""


class Defaults(_MapModel):
    order: WordOrder = "ABCD"
    unknown_all_ones: bool = False
    """Treat a raw value whose bits are all ones (0xFFFF, 0xFFFFFFFF) as unknown."""


class RegisterMap(_MapModel):
    """A whole register map file."""

    name: str
    title: str
    source: str
    """The public document the registers come from."""
    models: list[str]
    """UPS models the map covers."""
    address_base: Literal[0, 1]
    """0: addresses are the protocol (PDU) addresses; 1: the first register is written as 1."""
    defaults: Defaults = Defaults()
    requests: RequestLimits = RequestLimits()
    values: list[ValueSpec]

    def pdu_address(self, spec: ValueSpec) -> int:
        return spec.address - self.address_base

    def order_of(self, spec: ValueSpec) -> WordOrder:
        return spec.order or self.defaults.order


@dataclass(frozen=True, slots=True)
class LoadedMap:
    """A validated map and the file it came from."""

    regmap: RegisterMap
    path: Path


def shipped_maps() -> list[str]:
    """Names of the maps shipped with the package."""
    return sorted(path.stem for path in MAPS_DIR.glob("*.yaml"))


def resolve_map_path(reference: str, base_dir: Path | None) -> Path:
    """Find a map by shipped name or file path (relative to the configuration's folder)."""
    if "/" not in reference and not reference.endswith((".yaml", ".yml")):
        path = MAPS_DIR / f"{reference}.yaml"
        if not path.is_file():
            raise ConfigError([
                f"寄存器表 {reference!r} 不存在：内置的有 {', '.join(shipped_maps())}，"
                "或填写 YAML 文件路径"
            ])
        return path
    path = Path(reference).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path.resolve()


def load_map(reference: str, base_dir: Path | None = None) -> LoadedMap:
    """Load and validate a map; raise ConfigError listing every problem in it."""
    path = resolve_map_path(reference, base_dir)
    return _load_map_file(path, _mtime(path))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        raise ConfigError([f"寄存器表文件不存在：{path}"]) from None
    except OSError as err:
        raise ConfigError([f"无法读取寄存器表文件 {path}：{err.strerror}"]) from None


@functools.lru_cache(maxsize=32)
def _load_map_file(path: Path, mtime: float) -> LoadedMap:
    # Cached by modification time: check-config, the collector and the tests
    # load one map several times, and a changed file is read again.
    del mtime
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError([f"寄存器表文件不是 UTF-8 编码：{path}"]) from None
    except OSError as err:
        raise ConfigError([f"无法读取寄存器表文件 {path}：{err.strerror}"]) from None
    return LoadedMap(parse_map(text, path.name), path)


def parse_map(text: str, file_name: str) -> RegisterMap:
    """Validate map text; raise ConfigError with every problem as `file:line: path: problem`."""
    try:
        lines = _line_map(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise ConfigError([f"{file_name}:{line}: YAML 语法错误：{describe_yaml_error(err)}"]) from err
    if not isinstance(data, dict):
        raise ConfigError([f"{file_name}:1: 寄存器表的顶层应为映射（key: value）"])

    problems = _MapProblems(file_name, lines)
    header = _validate_header(data, problems)
    specs = _validate_values(data.get("values"), problems)
    if header is None:
        problems.raise_if_any()

    assert header is not None
    _check_semantics(header, specs, problems)
    problems.raise_if_any()
    return header.model_copy(update={"values": [spec for _, spec in specs]})


def _validate_header(data: dict[str, Any], problems: _MapProblems) -> RegisterMap | None:
    # Values are validated one by one below, so that one bad value does not
    # hide the problems of the others.
    try:
        return RegisterMap.model_validate({**data, "values": []})
    except ValidationError as err:
        for error in err.errors():
            problems.add(tuple(error["loc"]), _describe_map_error(error))
        return None


def _validate_values(items: Any, problems: _MapProblems) -> list[tuple[int, ValueSpec]]:
    if items is None:
        problems.add(("values",), "缺少必填项")
        return []
    if not isinstance(items, list):
        problems.add(("values",), "应为列表")
        return []
    specs: list[tuple[int, ValueSpec]] = []
    for index, item in enumerate(items):
        try:
            specs.append((index, ValueSpec.model_validate(item)))
        except ValidationError as err:
            for error in err.errors():
                problems.add(("values", index, *error["loc"]), _describe_map_error(error))
    return specs


def _describe_map_error(error: dict[str, Any]) -> str:
    if error["type"] == "literal_error" and error["loc"][-1:] == ("type",):
        return (f"未知的数据类型 {error.get('input')!r}：应为 int16、uint16、int32、uint32、"
                "float32、float64、string、bit 之一")
    return _describe_error(error)


class _MapProblems:
    def __init__(self, file_name: str, lines: dict[tuple[str | int, ...], int]) -> None:
        self.file_name = file_name
        self.lines = lines
        self.items: list[tuple[int, str]] = []

    def add(self, path: tuple[str | int, ...], message: str) -> None:
        line = 1
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                line = self.lines[path[:end]]
                break
        self.items.append((line, f"{self.file_name}:{line}: {format_path(path)}: {message}"))

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError([text for _, text in sorted(self.items, key=lambda item: item[0])])


def _check_semantics(regmap: RegisterMap, specs: list[tuple[int, ValueSpec]],
                     problems: _MapProblems) -> None:
    """Checks that span several values: targets, address range, overlaps, duplicates."""
    first_writer: dict[str, int] = {}
    highest = 0xFFFF + regmap.address_base

    for index, spec in specs:
        where = ("values", index)
        _check_targets(spec, where, first_writer, index, problems)

        end = spec.address + spec.register_count - 1
        if spec.address < regmap.address_base or end > highest:
            problems.add((*where, "address"),
                         f"地址超出范围：{spec.address}–{end}，本表地址从 {regmap.address_base} 起"
                         f"（address_base: {regmap.address_base}），"
                         f"允许 {regmap.address_base}–{highest}")
        if spec.register_count > _request_limit(regmap, spec):
            problems.add((*where, "length"),
                         f"一个值占 {spec.register_count} 个寄存器，超过单次请求上限 "
                         f"{_request_limit(regmap, spec)}")

    _check_overlaps(specs, problems)


def _check_targets(spec: ValueSpec, where: tuple[str | int, ...], first_writer: dict[str, int],
                   index: int, problems: _MapProblems) -> None:
    names = [("field", spec.field)] if spec.field else [
        (("bits", position, "field"), mapping.field)
        for position, mapping in enumerate(spec.bits or [])
    ]
    seen_here: set[str] = set()
    for key, name in names:
        path = (*where, *key) if isinstance(key, tuple) else (*where, key)
        if name in seen_here:
            # Several bits of one value may choose a code for one field (the first
            # set bit wins), but only when none of them claims the field when clear.
            if any(mapping.clear is not None for mapping in spec.bits or []
                   if mapping.field == name):
                problems.add(path, f"多个位写入 {name} 时，每一项都要写 clear: null"
                                   "（位为 0 时不写入），否则结果取决于顺序")
            continue
        seen_here.add(name)
        if not targets.is_known_target(name):
            problems.add(path, f"未知的目标字段 {name!r}：可用的有 {targets.describe_targets()}")
            continue
        if name in targets.INFO_FIELDS and spec.type != "string":
            problems.add(path, f"{name} 是字符串字段，type 应为 string，当前为 {spec.type}")
        if spec.type == "string" and name not in targets.INFO_FIELDS:
            problems.add(path, f"type: string 只能写入 {', '.join(sorted(targets.INFO_FIELDS))}")
        if name in first_writer:
            problems.add(path, f"目标字段 {name} 重复：values[{first_writer[name]}] 已写入该字段")
        else:
            first_writer[name] = index
        unit = targets.expected_unit(name)
        if spec.unit and unit and spec.unit != unit:
            problems.add((*where, "unit"),
                         f"单位 {spec.unit!r} 与目标字段 {name} 不符，应为 {unit!r}")


def _request_limit(regmap: RegisterMap, spec: ValueSpec) -> int:
    if spec.table in BIT_TABLES:
        return regmap.requests.max_bits
    return regmap.requests.max_registers


def _check_overlaps(specs: list[tuple[int, ValueSpec]], problems: _MapProblems) -> None:
    """Report two values that share a register, unless both pick different single bits."""
    for table in FUNCTION_CODES:
        spans = sorted(
            ((spec.address, spec.address + spec.register_count - 1, index, spec)
             for index, spec in specs if spec.table == table),
            key=lambda span: span[:3],
        )
        for position, (start, end, index, spec) in enumerate(spans):
            for other_start, other_end, other_index, other in spans[position + 1:]:
                if other_start > end:
                    break
                if _distinct_bits(spec, other):
                    continue
                first, second = sorted((index, other_index))
                problems.add(("values", second, "address"),
                             f"与 values[{first}] 重叠：{TABLE_NAMES[table]} {start}–{end} 与 "
                             f"{other_start}–{other_end} 共用地址")


def _distinct_bits(first: ValueSpec, second: ValueSpec) -> bool:
    return (first.type == "bit" and second.type == "bit" and first.table not in BIT_TABLES
            and first.bit != second.bit)


__all__ = [
    "BIT_TABLES", "FUNCTION_CODES", "LoadedMap", "RegisterMap", "ValueSpec", "load_map",
    "parse_map", "shipped_maps", "format_path",
]
