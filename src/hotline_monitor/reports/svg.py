"""Bar charts as inline SVG, so the report needs no network and no chart library."""

from __future__ import annotations

from html import escape

WIDTH = 720
HEIGHT = 260
MARGIN_LEFT = 56
MARGIN_BOTTOM = 48
MARGIN_TOP = 32
BAR_COLOUR = "#2f6fb0"
OVER_COLOUR = "#c0392b"
LIMIT_COLOUR = "#c0392b"


def bar_chart(title: str, labels: list[str], values: list[float], unit: str,
              limit: float | None = None, limit_label: str = "") -> str:
    """Draw one bar per value; a dashed line marks `limit`, and bars above it are red."""
    plot_width = WIDTH - MARGIN_LEFT - 16
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    top = max([*values, limit or 0.0, 1e-9])
    top = _nice_ceiling(top)
    count = max(1, len(values))
    slot = plot_width / count
    bar = max(1.0, slot * 0.7)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" font-size="14">{escape(title)}</text>',
        f'<line x1="{MARGIN_LEFT}" y1="{MARGIN_TOP + plot_height}" x2="{WIDTH - 16}" '
        f'y2="{MARGIN_TOP + plot_height}" stroke="#333"/>',
        f'<line x1="{MARGIN_LEFT}" y1="{MARGIN_TOP}" x2="{MARGIN_LEFT}" '
        f'y2="{MARGIN_TOP + plot_height}" stroke="#333"/>',
    ]
    for step in range(5):
        value = top * step / 4
        y = MARGIN_TOP + plot_height - plot_height * step / 4
        parts.append(f'<text x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'font-size="10">{value:g}</text>')
    parts.append(f'<text x="12" y="{MARGIN_TOP - 8}" font-size="10">{escape(unit)}</text>')

    label_every = max(1, count // 16)
    for index, value in enumerate(values):
        height = plot_height * value / top
        x = MARGIN_LEFT + slot * index + (slot - bar) / 2
        y = MARGIN_TOP + plot_height - height
        colour = OVER_COLOUR if limit is not None and value > limit else BAR_COLOUR
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                     f'fill="{colour}"><title>{escape(labels[index])}：{value:g} {escape(unit)}'
                     '</title></rect>')
        if index % label_every == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{MARGIN_TOP + plot_height + 14}" '
                         f'text-anchor="middle" font-size="10">{escape(labels[index])}</text>')

    if limit is not None:
        y = MARGIN_TOP + plot_height - plot_height * limit / top
        parts.append(f'<line x1="{MARGIN_LEFT}" y1="{y:.1f}" x2="{WIDTH - 16}" y2="{y:.1f}" '
                     f'stroke="{LIMIT_COLOUR}" stroke-dasharray="6 4"/>')
        parts.append(f'<text x="{WIDTH - 18}" y="{y - 4:.1f}" text-anchor="end" font-size="10" '
                     f'fill="{LIMIT_COLOUR}">{escape(limit_label)}</text>')
    if not values:
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" '
                     'font-size="12" fill="#666">无数据</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _nice_ceiling(value: float) -> float:
    """Round up to 1, 2 or 5 times a power of ten, so the axis reads easily."""
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    while magnitude > value:
        magnitude /= 10
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= value:
            return factor * magnitude
    return value
