"""Load, resolve and validate the YAML configuration, reporting every problem.

Problems are reported in Chinese, each with the file, line and key path, for
example `site.yaml:12: ups[0].snmp.port: 取值超出范围…`. Secrets are never
printed: values of keys that look like secrets are masked in messages.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from hotline_monitor.config.model import Config
from hotline_monitor.errors import ConfigError

KeyPath = tuple[str | int, ...]

class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates and times as text.

    PyYAML turns an unquoted `2027-13-40` into a date while parsing and raises
    a bare ValueError with no line. Kept as text, the value reaches the field's
    own validator, which reports it with the key path and line.
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_SECRET_WORDS = ("password", "token", "secret", "key", "community", "passphrase")


def is_secret_key(key: str) -> bool:
    """Tell whether a key's value must never be shown (robot keys, passwords)."""
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def format_path(path: KeyPath) -> str:
    """Format a key path the way people write it: `ups[0].snmp.port`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "（根）"


def _line_map(text: str, duplicates: list[tuple[KeyPath, int, int]] | None = None,
              ) -> dict[KeyPath, int]:
    """Map every key path in the document to the 1-based line it starts on.

    A key written twice in one mapping is appended to `duplicates` as (path,
    first line, repeated line), because PyYAML keeps the last value silently.
    """
    lines: dict[KeyPath, int] = {}
    root = yaml.compose(text, Loader=_Loader)
    if root is None:
        return lines

    def walk(node: yaml.Node, path: KeyPath) -> None:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            first_lines: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value)
                key_path = (*path, key)
                line = key_node.start_mark.line + 1
                if key in first_lines and duplicates is not None:
                    duplicates.append((key_path, first_lines[key], line))
                first_lines.setdefault(key, line)
                lines[key_path] = line
                walk(value_node, key_path)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*path, index))

    walk(root, ())
    return lines


# PyYAML's most common problems, as a technician fixing the file reads them.
_YAML_PROBLEMS = (
    ("found character '\\t'", "含有 Tab 字符：YAML 只能用空格缩进"),
    ("expected <block end>", "缩进不一致：同一层的键要用相同个数的空格对齐"),
    ("mapping values are not allowed here", "这里不能出现“键: 值”：可能是缩进不对，或值中有未加引号的冒号"),
    ("could not find expected ':'", "缺少“键: 值”中的冒号，或缩进不对"),
    ("expected ',' or ']'", "方括号 […] 没有闭合，或元素之间缺少逗号"),
    ("expected ',' or '}'", "花括号 {…} 没有闭合，或元素之间缺少逗号"),
    ("found unexpected end of stream", "文件意外结束：引号没有闭合"),
)


def describe_yaml_error(err: yaml.YAMLError) -> str:
    """Return a YAML parse error in Chinese, with PyYAML's own words kept for the expert."""
    reason = getattr(err, "problem", None) or str(err)
    for pattern, chinese in _YAML_PROBLEMS:
        if reason.startswith(pattern):
            return f"{chinese}（{reason}）"
    return reason


class _Problems:
    """Collects problems with their line numbers while the file is checked."""

    def __init__(self, file_name: str, lines: dict[KeyPath, int]) -> None:
        self.file_name = file_name
        self.lines = lines
        self.items: list[tuple[int, str]] = []

    def line_of(self, path: KeyPath) -> int:
        # A missing key has no line of its own: point at its nearest parent.
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return 1

    def add(self, path: KeyPath, message: str) -> None:
        line = self.line_of(path)
        self.items.append((line, f"{self.file_name}:{line}: {format_path(path)}: {message}"))

    def raise_if_any(self) -> None:
        if self.items:
            ordered = [text for _, text in sorted(self.items, key=lambda item: item[0])]
            raise ConfigError(ordered)


def _resolve_references(value: Any, path: KeyPath, base_dir: Path, problems: _Problems) -> Any:
    """Replace `${env:NAME}` in strings and `X_file: PATH` keys by their contents."""
    if isinstance(value, dict):
        resolved: dict[str, Any] = {}
        for key, item in value.items():
            key = str(key)
            if key.endswith("_file") and isinstance(item, str):
                target = key.removesuffix("_file")
                if target in value:
                    problems.add((*path, key), f"不能同时写 {target} 和 {key}，请只保留一个")
                    continue
                resolved[target] = _read_secret_file(item, (*path, key), base_dir, problems)
            else:
                resolved[key] = _resolve_references(item, (*path, key), base_dir, problems)
        return resolved
    if isinstance(value, list):
        return [
            _resolve_references(item, (*path, index), base_dir, problems)
            for index, item in enumerate(value)
        ]
    if isinstance(value, str) and "${" in value:
        return _expand_env(value, path, problems)
    return value


def _expand_env(text: str, path: KeyPath, problems: _Problems) -> str:
    result = ""
    rest = text
    while "${" in rest:
        before, _, after = rest.partition("${")
        reference, closed, rest = after.partition("}")
        result += before
        if not closed or not reference.startswith("env:"):
            problems.add(path, f"引用 ${{{reference}}} 无效：只支持 ${{env:变量名}}")
            return text
        name = reference.removeprefix("env:")
        if name not in os.environ:
            problems.add(path, f"环境变量 {name} 未设置（在 ${{env:{name}}} 中引用）")
            return text
        result += os.environ[name]
    return result + rest


def _read_secret_file(name: str, path: KeyPath, base_dir: Path, problems: _Problems) -> str:
    file_path = Path(name).expanduser()
    if not file_path.is_absolute():
        file_path = base_dir / file_path
    try:
        return file_path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        problems.add(path, f"密钥文件不存在：{file_path}")
    except OSError as err:
        problems.add(path, f"无法读取密钥文件 {file_path}：{err.strerror}")
    return ""


_TYPE_MESSAGES = {
    "missing": "缺少必填项",
    "extra_forbidden": "未知的配置项（请检查拼写，或删除该项）",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "string_type": "应为字符串",
    "dict_type": "应为映射（key: value）",
    "model_type": "应为映射（key: value）",
    "list_type": "应为列表",
    "date_from_datetime_parsing": "应为日期，格式 YYYY-MM-DD",
    "date_parsing": "应为日期，格式 YYYY-MM-DD",
}


def _describe_error(error: dict[str, Any]) -> str:
    kind = error["type"]
    context = error.get("ctx") or {}
    shown = _shown_value(error)

    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bounds = {
            "greater_than_equal": f"不能小于 {context.get('ge')}",
            "less_than_equal": f"不能大于 {context.get('le')}",
            "greater_than": f"必须大于 {context.get('gt')}",
            "less_than": f"必须小于 {context.get('lt')}",
        }
        return f"取值超出范围：{bounds[kind]}，当前为 {shown}"
    if kind == "literal_error":
        # pydantic writes the choices as "'a', 'b' or 'c'".
        choices = str(context.get("expected", "")).replace(" or ", ", ").replace(", ", "、")
        return f"取值无效：应为 {choices} 之一，当前为 {shown}"
    if kind == "union_tag_invalid":
        field = str(context.get("discriminator", "")).strip("'")
        choices = str(context.get("expected_tags", "")).replace(", ", "、")
        return f"{field} 取值无效：应为 {choices} 之一，当前为 {context.get('tag')!r}"
    if kind == "union_tag_not_found":
        field = str(context.get("discriminator", "")).strip("'")
        return f"缺少 {field}（类型）"
    if kind == "string_too_short":
        return f"至少 {context.get('min_length')} 个字符，当前为 {shown}"
    if kind == "string_too_long":
        return f"最多 {context.get('max_length')} 个字符，当前为 {shown}"
    if kind == "string_pattern_mismatch":
        return f"格式无效：{shown}"
    if kind == "value_error":
        return str(context.get("error", error["msg"]))
    if kind in _TYPE_MESSAGES:
        message = _TYPE_MESSAGES[kind]
        return message if kind in ("missing", "extra_forbidden") else f"{message}，当前为 {shown}"
    return f"取值无效（{error['msg']}），当前为 {shown}"


def _shown_value(error: dict[str, Any]) -> str:
    names = [part for part in error["loc"] if isinstance(part, str)]
    if names and is_secret_key(names[-1]):
        return "（已隐藏）"
    value = _masked(error.get("input"))
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _masked(value: Any) -> Any:
    """Return a copy of a mapping or list with the values of secret keys hidden, at any depth."""
    if isinstance(value, dict):
        return {key: "（已隐藏）" if isinstance(key, str) and is_secret_key(key) else _masked(item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def _check_duplicate_ids(data: dict[str, Any], problems: _Problems) -> None:
    """Report an `id` that appears twice in any top-level list of targets."""
    for section, items in data.items():
        if not isinstance(items, list):
            continue
        first_seen: dict[str, int] = {}
        for index, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                continue
            if item["id"] in first_seen:
                problems.add(
                    (section, index, "id"),
                    f"id {item['id']!r} 重复，与 {section}[{first_seen[item['id']]}] 相同",
                )
            else:
                first_seen[item["id"]] = index


def _without_union_tags(location: KeyPath, data: Any) -> KeyPath:
    """Drop the `type` tag pydantic puts in the path of a tagged union member.

    `channels.mail.email.from_address` becomes `channels.mail.from_address`.
    """
    kept: list[str | int] = []
    node = data
    for part in location:
        if isinstance(node, dict) and part not in node and node.get("type") == part:
            continue
        kept.append(part)
        node = _child(node, part)
    return tuple(kept)


def _child(node: Any, part: str | int) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


def parse_config(text: str, path: Path) -> Config:
    """Validate configuration text; raise ConfigError listing every problem."""
    file_name = path.name
    duplicates: list[tuple[KeyPath, int, int]] = []
    try:
        lines = _line_map(text, duplicates)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        message = f"{file_name}:{line}: YAML 语法错误：{describe_yaml_error(err)}"
        if "${" in text:
            message += "（提示：在 {…} 或 […] 里写 ${env:…} 时，整个值要加引号）"
        raise ConfigError([message]) from err

    problems = _Problems(file_name, lines)
    for key_path, first_line, _line in duplicates:
        problems.add(key_path, f"与第 {first_line} 行的同名配置项重复，YAML 只保留后一个；请删除或合并其中一个")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{file_name}:1: 配置文件的顶层应为映射（key: value）"])

    data = _resolve_references(data, (), path.parent, problems)
    data.setdefault("state_dir", str(path.parent / "state"))
    state_dir = Path(str(data["state_dir"])).expanduser()
    data["state_dir"] = state_dir if state_dir.is_absolute() else path.parent / state_dir
    _check_duplicate_ids(data, problems)

    config: Config | None = None
    try:
        # base_dir lets sections resolve file paths relative to the configuration file.
        config = Config.model_validate(data, context={"base_dir": path.parent})
    except ValidationError as err:
        for error in err.errors():
            problems.add(_without_union_tags(tuple(error["loc"]), data), _describe_error(error))

    problems.raise_if_any()
    assert config is not None
    return config


def load_config(path: str | Path) -> Config:
    """Read and validate a configuration file."""
    config_path = Path(path).expanduser().resolve()
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"配置文件不存在：{config_path}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"配置文件不是 UTF-8 编码：{config_path}"]) from None
    except OSError as err:
        raise ConfigError([f"无法读取配置文件 {config_path}：{err.strerror}"]) from None
    return parse_config(text, config_path)
