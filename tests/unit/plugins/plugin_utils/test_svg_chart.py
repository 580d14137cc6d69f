"""svg_chart: round ticks, legends, and category labels that do not overlap."""
import re

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import svg_chart


def test_ticks_are_round_and_cover_the_range():
    assert svg_chart.nice_ticks(0, 1000) == [0, 200, 400, 600, 800, 1000]
    assert svg_chart.nice_ticks(0, 3.2) == [0, 1, 2, 3, 4]
    ticks = svg_chart.nice_ticks(0, 0.037)
    assert ticks[0] == 0 and ticks[-1] >= 0.037 and len(ticks) <= 7


def test_line_chart_has_axes_ticks_legend_reference_line_and_mark():
    svg = svg_chart.line_chart('c', 'T', 'rate (req/s)', 'p99 TTFT (ms)', [('n1', [(1, 100), (2, 300)])],
                               refs=[(200, 'SLO 200 ms')], marks=[(1, 100, 'capacity found')])
    assert svg.count('class="grid"') >= 4 and 'rate (req/s)' in svg and 'p99 TTFT (ms)' in svg
    assert 'class="ref"' in svg and 'SLO 200 ms' in svg and 'class="mark"' in svg and '>n1<' in svg


def test_bar_labels_are_slanted_and_spaced_apart():
    categories = ['node-%02d some-long-scenario-name' % i for i in range(30)]
    svg = svg_chart.bar_chart('b', 'T', 'tok/s', categories, [('tok/s', list(range(30)))])
    xs = [float(x) for x in re.findall(r'<text x="([0-9.]+)" y="[0-9]+" text-anchor="end" transform="rotate', svg)]
    assert len(xs) == 30
    assert min(b - a for a, b in zip(xs, xs[1:])) >= 14  # an 11 px font, slanted: no overlap
    assert svg.count('<rect class="bar"') == 30
