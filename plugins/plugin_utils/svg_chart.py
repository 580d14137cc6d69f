# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Inline SVG charts for the HTML reports: readable offline, no script, no library on the node.

Both charts have axes with ticks at round values (1, 2, 5 x 10^n), grid lines, axis titles
with units and a legend outside the plotting area. Category labels on a bar chart are slanted
and shortened so that they never overlap; the full label is in each bar's tooltip.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
from html import escape

PALETTE = ('#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf')
STYLE = ('.chart{border:1px solid #ddd;margin:8px 8px 8px 0;background:#fff} .chart .title{font-weight:bold;font-size:13px}'
         ' .chart text{font-size:11px;fill:#222} .chart .axis{stroke:#333} .chart .grid{stroke:#e5e5e5}'
         ' .chart .ref{stroke:#b00;stroke-dasharray:6 4} .chart .ref-label{fill:#b00} .chart .mark{fill:none;stroke:#000;stroke-width:2}')


def nice_ticks(low, high, count=5):
    """Round tick values covering [low, high] (about ``count`` of them)."""
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / float(max(1, count))
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value < high + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


def tick_text(value):
    if value == int(value):
        return '{:,}'.format(int(value))
    return ('%.3g' % value)


def _frame(chart_id, title, width, height):
    return ['<svg id="%s" class="chart" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img"'
            ' aria-label="%s">' % (escape(chart_id), width, height, width, height, escape(title)),
            '<title>%s</title>' % escape(title), '<text x="10" y="18" class="title">%s</text>' % escape(title)]


def _legend(entries, x, y):
    """entries: [(label, color, kind)] stacked from (x, y); kind line, bar or ref."""
    parts = []
    for index, (label, color, kind) in enumerate(entries):
        ly = y + 16 * index
        if kind == 'bar':
            parts.append('<rect x="%d" y="%d" width="12" height="10" fill="%s"/>' % (x, ly - 9, color))
        else:
            parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>' % (
                x, ly - 4, x + 14, ly - 4, color, ' stroke-dasharray="6 4"' if kind == 'ref' else ''))
        parts.append('<text x="%d" y="%d" class="legend">%s</text>' % (x + 19, ly, escape(label[:34])))
    return parts


def _y_axis(parts, ticks, sy, left, right_x, ylabel, top, ph):
    for tick in ticks:
        y = sy(tick)
        parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" class="grid"/>' % (left, y, right_x, y))
        parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" class="axis"/>' % (left - 4, y, left, y))
        parts.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (left - 7, y + 4, tick_text(tick)))
    parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" class="axis"/>' % (left, top, left, top + ph))
    parts.append('<text x="14" y="%d" text-anchor="middle" transform="rotate(-90 14 %d)" class="axis-title">%s</text>' % (
        top + ph // 2, top + ph // 2, escape(ylabel)))


def line_chart(chart_id, title, xlabel, ylabel, series, refs=(), marks=(), width=720, height=340):
    """series: [(label, [(x, y), ...])]; refs: [(y, label)] horizontal reference lines (an SLO);
    marks: [(x, y, label)] ringed points (a capacity found). Returns an inline SVG."""
    points = [(x, y) for dummy, pts in series for x, y in pts if x is not None and y is not None]
    if not points:
        return '<p class="empty">%s: no data</p>' % escape(title)
    xs = [x for x, dummy in points] + [m[0] for m in marks]
    ys = [y for dummy, y in points] + [r[0] for r in refs] + [m[1] for m in marks]
    left, right, top, bottom = 64, 190, 30, 50
    pw, ph = width - left - right, height - top - bottom
    xticks = nice_ticks(min([0.0] + xs), max(xs))
    yticks = nice_ticks(0.0, max(ys) * 1.05)
    x0, x1, y1 = xticks[0], xticks[-1], yticks[-1]

    def sx(x):
        return left + (x - x0) / float(x1 - x0) * pw

    def sy(y):
        return top + ph - y / float(y1 or 1) * ph
    parts = _frame(chart_id, title, width, height)
    _y_axis(parts, yticks, sy, left, left + pw, ylabel, top, ph)
    parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" class="axis"/>' % (left, top + ph, left + pw, top + ph))
    for tick in xticks:
        x = sx(tick)
        parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" class="axis"/>' % (x, top + ph, x, top + ph + 4))
        parts.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (x, top + ph + 17, tick_text(tick)))
    parts.append('<text x="%d" y="%d" text-anchor="middle" class="axis-title">%s</text>' % (left + pw // 2, height - 10, escape(xlabel)))
    legend = []
    for y, label in refs:
        parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" class="ref"/>' % (left, sy(y), left + pw, sy(y)))
        legend.append((label, '#b00', 'ref'))
    for index, (label, pts) in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        pts = sorted((x, y) for x, y in pts if x is not None and y is not None)
        if not pts:
            continue
        parts.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (
            color, ' '.join('%.1f,%.1f' % (sx(x), sy(y)) for x, y in pts)))
        parts += ['<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s: %s, %s</title></circle>' % (
            sx(x), sy(y), color, escape(label), tick_text(x), tick_text(round(y, 2))) for x, y in pts[:300]]
        legend.append((label, color, 'line'))
    for x, y, label in marks:
        parts.append('<circle cx="%.1f" cy="%.1f" r="7" class="mark"><title>%s</title></circle>' % (sx(x), sy(y), escape(label)))
    if marks:
        parts.append('<circle cx="%d" cy="%d" r="6" class="mark"/>' % (left + pw + 19, top + 12 + 16 * len(legend) - 4))
        parts.append('<text x="%d" y="%d">%s</text>' % (left + pw + 32, top + 12 + 16 * len(legend), escape(marks[0][2][:30])))
    parts += _legend(legend, left + pw + 12, top + 12)
    parts.append('</svg>')
    return '\n'.join(parts)


def bar_chart(chart_id, title, ylabel, categories, series, width=720, height=360):
    """categories: [label]; series: [(label, [value per category])] -> grouped bars, slanted category labels."""
    values = [v for dummy, vals in series for v in vals if v is not None]
    if not values or not categories:
        return '<p class="empty">%s: no data</p>' % escape(title)
    left, right, top, bottom = 64, 175, 30, 110
    width = max(width, left + right + 28 * len(categories) * max(1, len(series)))
    pw, ph = width - left - right, height - top - bottom
    yticks = nice_ticks(0.0, max(values) * 1.05)
    y1 = yticks[-1]

    def sy(y):
        return top + ph - y / float(y1 or 1) * ph
    parts = _frame(chart_id, title, width, height)
    _y_axis(parts, yticks, sy, left, left + pw, ylabel, top, ph)
    parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" class="axis"/>' % (left, top + ph, left + pw, top + ph))
    slot = pw / float(len(categories))
    bar_width = slot * 0.8 / max(1, len(series))
    for ci, category in enumerate(categories):
        for si, (label, vals) in enumerate(series):
            value = vals[ci] if ci < len(vals) else None
            if value is None:
                continue
            x = left + ci * slot + slot * 0.1 + si * bar_width
            parts.append('<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s, %s: %s</title></rect>' % (
                x, sy(value), bar_width * 0.9, top + ph - sy(value), PALETTE[si % len(PALETTE)], escape(category), escape(label),
                tick_text(round(value, 2))))
        cx = left + ci * slot + slot / 2.0
        short = category if len(category) <= 22 else category[:21] + '\u2026'
        parts.append('<text x="%.1f" y="%d" text-anchor="end" transform="rotate(-35 %.1f %d)"><title>%s</title>%s</text>' % (
            cx, top + ph + 14, cx, top + ph + 14, escape(category), escape(short)))
    parts += _legend([(label, PALETTE[si % len(PALETTE)], 'bar') for si, (label, dummy) in enumerate(series)], left + pw + 12, top + 12)
    parts.append('</svg>')
    return '\n'.join(parts)
