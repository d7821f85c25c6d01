"""Parsing requests and quoting values the way upsd's parser (NUT's parseconf) does.

A request is one line of words separated by spaces or tabs. A word may be
double-quoted to contain spaces, and a backslash makes the next character
literal, inside or outside quotes. Values in replies are double-quoted with
`"` and `\\` escaped by a backslash.
"""

from __future__ import annotations


class RequestSyntaxError(ValueError):
    """A request line that cannot be split into words (an unterminated quote)."""


def split_request(line: str) -> list[str]:
    """Split one request line into its words."""
    words: list[str] = []
    current: list[str] = []
    in_word = in_quotes = False
    characters = iter(line.rstrip("\r\n"))

    for char in characters:
        if char == "\\":
            escaped = next(characters, None)
            if escaped is None:
                raise RequestSyntaxError("backslash at the end of the line")
            current.append(escaped)
            in_word = True
        elif char == '"':
            if in_quotes:
                in_quotes = False
            else:
                in_quotes = in_word = True
        elif char in " \t" and not in_quotes:
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
        else:
            current.append(char)
            in_word = True

    if in_quotes:
        raise RequestSyntaxError("unterminated quote")
    if in_word:
        words.append("".join(current))
    return words


def ascii_text(value: str) -> str:
    """Drop what NUT clients cannot read: their parser (parseconf) discards every byte over 127."""
    return "".join(char for char in value if " " <= char <= "~")


def quote(value: str) -> str:
    """Quote a value for a reply as ASCII, escaping `"` and `\\`."""
    escaped = ascii_text(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
