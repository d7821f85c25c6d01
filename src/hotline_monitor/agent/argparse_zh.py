"""argparse with its messages in Chinese, since technicians read the CLI in Chinese.

argparse looks its messages up through gettext (`argparse._`); we provide a
catalogue for the ones a user can meet. Messages not in it stay English.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

_CATALOGUE = {
    "usage: ": "用法：",
    "positional arguments": "位置参数",
    "options": "选项",
    "show this help message and exit": "显示帮助并退出",
    "the following arguments are required: %s": "缺少必需的参数：%s",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "invalid choice: %(value)r (choose from %(choices)s)": "无效的选择：%(value)r（可选：%(choices)s）",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "expected one argument": "需要一个值",
    "invalid %(type)s value: %(value)r": "无效的 %(type)s 值：%(value)r",
    "ambiguous option: %(option)s could match %(matches)s": "选项有歧义：%(option)s 可匹配 %(matches)s",
    "not allowed with argument %s": "不能与参数 %s 同时使用",
    "one of the arguments %s is required": "参数 %s 必须给出其中之一",
    "expected at least one argument": "至少需要一个值",
}


def _translate(message: str) -> str:
    return _CATALOGUE.get(message, message)


argparse._ = _translate  # type: ignore[attr-defined]


class ChineseArgumentParser(argparse.ArgumentParser):
    """Prints usage errors in Chinese and exits 2."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"{self.prog}：错误：{message}", file=sys.stderr)
        raise SystemExit(2)
