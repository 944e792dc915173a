"""Accessible charts drawn on the server as inline SVG: no JavaScript, no outside service.

Each function is pure: figures and already-translated labels in, safe markup out. Every piece
of text goes through ``format_html`` (escaped); the fragments are joined only once escaped.
The root ``<svg>`` has ``role="img"``, a ``<title>`` and a ``<desc>`` named by
``aria-labelledby``; the page puts a ``<table>`` with the same figures beside each chart.

Right-to-left pages (Arabic) get a mirrored drawing: time runs from right to left, labels
sit on the right of horizontal bars, and the text direction of the SVG is set explicitly
(an SVG does not mirror itself under ``dir="rtl"``).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

FONT = "system-ui, sans-serif"
INK = "#1d2433"
GRID = "#c9d1dd"
# Two colours told apart by people with the common colour-vision deficiencies, and by the
# legend's words.
PALETTE = ("#0b5cad", "#c05a00", "#1b6e3a", "#6a3d9a")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]


def _join(fragments) -> SafeString:
    # Every fragment comes from format_html (its arguments escaped): joining keeps them safe.
    return mark_safe("".join(str(fragment) for fragment in fragments))  # noqa: S308  # nosec B308 B703


def _n(number: float) -> str:
    """A coordinate, short (format_html escapes its arguments to text before formatting)."""
    return f"{number:.1f}".removesuffix(".0")


def _nice_ceiling(value: int) -> int:
    """A round upper bound for an axis (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 2.5, 5, 10):
        bound = int(step * magnitude)
        if bound >= value:
            return bound
    return 10 * magnitude


def _root(
    *, chart_id: str, title: str, description: str, width: int, height: int, rtl: bool, body
) -> SafeString:
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        'aria-labelledby="{id}-title {id}-desc" viewBox="0 0 {w} {h}" width="100%" '
        'preserveAspectRatio="xMidYMid meet" direction="{direction}" '
        'font-family="{font}" font-size="12" fill="{ink}">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>{body}</svg>',
        id=chart_id,
        w=_n(width),
        h=_n(height),
        direction="rtl" if rtl else "ltr",
        font=FONT,
        ink=INK,
        title=title,
        desc=description,
        body=body,
    )


def column_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[tuple[str, str]],
    series: Sequence[Series],
    value_label: Callable[[int], str],
    rtl: bool = False,
) -> SafeString:
    """Grouped vertical bars, one group per category (e.g. a month), one bar per series.

    ``categories`` are (first line, second line) labels under each group, in reading order
    of time (oldest first); a right-to-left page draws them from the right."""
    width, height = 760, 300
    scale_w, margin, top, bottom = 80, 16, 36, 56
    # The scale sits on the start side: the left, or the right of a right-to-left page.
    left, right = (margin, scale_w) if rtl else (scale_w, margin)
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((value for one in series for value in one.values), default=0)
    ceiling = _nice_ceiling(peak)
    slot = plot_w / max(len(categories), 1)
    bar_w = slot * 0.7 / max(len(series), 1)

    def x_of(position: float, size: float = 0) -> float:
        """Where something ``position`` along the time axis starts, in either direction."""
        return width - right - position - size if rtl else left + position

    fragments = []
    for step in range(5):
        value = ceiling * step // 4
        y = top + plot_h - plot_h * step / 4
        fragments.append(
            format_html(
                '<line x1="{x1}" x2="{x2}" y1="{y}" y2="{y}" stroke="{grid}" />'
                '<text x="{tx}" y="{ty}" text-anchor="end" font-size="11">{label}</text>',
                x1=_n(left),
                x2=_n(width - right),
                y=_n(y),
                grid=GRID,
                # The text ends next to the plot: "end" is its left edge in a right-to-left
                # drawing, its right edge otherwise.
                tx=_n(width - right + 6 if rtl else left - 6),
                ty=_n(y + 4),
                label=value_label(value),
            )
        )
    for index, (line_one, line_two) in enumerate(categories):
        group_start = slot * index + slot * 0.15
        for number, one in enumerate(series):
            value = one.values[index]
            bar_h = plot_h * value / ceiling if ceiling else 0
            x = x_of(group_start + bar_w * number, bar_w)
            fragments.append(
                format_html(
                    '<rect x="{x}" y="{y}" width="{w}" height="{h}" '
                    'fill="{colour}"><title>{label}</title></rect>',
                    x=_n(x),
                    y=_n(top + plot_h - bar_h),
                    w=_n(bar_w - 2),
                    h=_n(bar_h),
                    colour=PALETTE[number % len(PALETTE)],
                    label=f"{line_one} {line_two}: {one.name} {value_label(value)}".strip(),
                )
            )
        centre = x_of(slot * index + slot / 2)
        fragments.append(
            format_html(
                '<text x="{x}" y="{y}" text-anchor="middle">{one}</text>'
                '<text x="{x}" y="{y2}" text-anchor="middle" font-size="10">{two}</text>',
                x=_n(centre),
                y=_n(top + plot_h + 16),
                y2=_n(top + plot_h + 30),
                one=line_one,
                two=line_two,
            )
        )
    # Legend, top, on the start side.
    for number, one in enumerate(series):
        offset = 16 + number * 200
        box_x = width - offset - 12 if rtl else offset
        fragments.append(
            format_html(
                '<rect x="{x}" y="10" width="12" height="12" fill="{colour}" />'
                '<text x="{tx}" y="20" text-anchor="start">{name}</text>',
                x=_n(box_x),
                colour=PALETTE[number % len(PALETTE)],
                tx=_n(box_x - 6 if rtl else box_x + 18),
                name=one.name,
            )
        )
    return _root(
        chart_id=chart_id,
        title=title,
        description=description,
        width=width,
        height=height,
        rtl=rtl,
        body=_join(fragments),
    )


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    rows: Sequence[tuple[str, int]],
    value_label: Callable[[int], str],
    rtl: bool = False,
) -> SafeString:
    """Horizontal bars, one per (label, value) row, labels on the start side."""
    width = 760
    row_h, top = 28, 8
    label_w, value_w = 230, 110
    height = top * 2 + row_h * max(len(rows), 1)
    plot_w = width - label_w - value_w
    peak = max((value for _label, value in rows), default=0) or 1
    fragments = []
    for index, (label, value) in enumerate(rows):
        y = top + row_h * index
        bar_w = plot_w * value / peak
        if rtl:
            label_x, bar_x, value_x = (
                width - 8,
                width - label_w - bar_w,
                width - label_w - bar_w - 6,
            )
        else:
            label_x, bar_x, value_x = 8, label_w, label_w + bar_w + 6
        fragments.append(
            format_html(
                '<text x="{lx}" y="{ty}" text-anchor="start">{label}</text>'
                '<rect x="{bx}" y="{by}" width="{bw}" height="{bh}" fill="{colour}">'
                "<title>{label}: {value}</title></rect>"
                '<text x="{vx}" y="{ty}" text-anchor="start">{value}</text>',
                lx=_n(label_x),
                ty=_n(y + row_h / 2 + 4),
                label=label,
                bx=_n(bar_x),
                by=_n(y + 4),
                bw=_n(max(bar_w, 0)),
                bh=_n(row_h - 8),
                colour=PALETTE[0],
                vx=_n(value_x),
                value=value_label(value),
            )
        )
    return _root(
        chart_id=chart_id,
        title=title,
        description=description,
        width=width,
        height=height,
        rtl=rtl,
        body=_join(fragments),
    )
