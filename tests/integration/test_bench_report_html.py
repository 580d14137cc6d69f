"""The benchmark report's HTML opened in a real headless Chromium (Debian's package).

Builds a report from parsed benchmark outputs (tests/unit/fixtures/vllm_bench), renders it
with `chromium --headless`, checks the rendered DOM holds every chart with drawn marks, and
saves a screenshot as a test artifact under tests/output/ that must not be blank.
"""
import glob
import os
import shutil
import struct
import subprocess
import zlib

import pytest

from ansible_collections.inferops.gpu_inference.plugins.module_utils.vllm_bench_output import merge, parse_json, parse_text
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import bench_report

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
FIX = os.path.join(ROOT, 'tests', 'unit', 'fixtures', 'vllm_bench')
OUT = os.path.join(ROOT, 'tests', 'output', 'bench-report')
CHARTS = ('chart-throughput-concurrency', 'chart-throughput-scenario', 'chart-ttft', 'chart-tpot', 'chart-itl', 'chart-gpu-util')


def chromium():
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        if shutil.which(name):
            return shutil.which(name)
    pytest.fail('no Chromium here: tests/bed/ensure_docker.sh installs Debian\'s chromium')


def records():
    text = parse_text(open(os.path.join(FIX, 'older-benchmark-serving.txt')).read())
    data = parse_json(open(os.path.join(FIX, 'older-benchmark-serving.json')).read(), detailed=False)
    base = merge(text, data)
    recs = []
    for host, speed in (('node-a', 1.0), ('node-b', 0.7)):
        for level in (1, 4, 16):
            results = dict(base, max_concurrency=level, output_throughput_tok_s=base['output_throughput_tok_s'] * speed * level ** 0.5,
                           ttft_p50_ms=100.0 * level, ttft_p90_ms=150.0 * level, ttft_p99_ms=200.0 * level)
            recs.append({'host': host, 'scenario': 'concurrency-%d' % level, 'results': results,
                         'settings': {'num_prompts': 4 * level, 'max_concurrency': level, 'request_rate': 'inf'},
                         'gpu': {'samples': 10, 'util_mean_pct': 60.0 * speed, 'idle_fraction': 0.25}, 'cost_per_million_output_tokens': 1.5,
                         'gpu_series': [(t * 0.5, 40 + 50 * speed * (t % 3) / 2.0) for t in range(10)]})
    return recs


def png_size_and_colours(path):
    """Width, height and the number of distinct byte values of the decoded pixel data (no PIL here)."""
    data = open(path, 'rb').read()
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    width, height = struct.unpack('>II', data[16:24])
    pos, idat = 8, b''
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        if kind == b'IDAT':
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


def test_report_renders_with_its_charts():
    report = {'generated': '2026-11-22T08:00:00+00:00', 'hosts': ['node-a', 'node-b'], 'records': records(),
              'misses': bench_report.gate_misses(records(), {'ttft_p99_ms': 1000}), 'baseline': records()[:3]}
    assert report['misses'], 'the 16-way runs must miss a 1000 ms p99 TTFT gate'
    os.makedirs(OUT, exist_ok=True)
    for old in glob.glob(os.path.join(OUT, '*')):
        os.unlink(old)
    html = os.path.join(OUT, 'report.html')
    with open(html, 'w') as handle:
        handle.write(bench_report.to_html(report))
    exe = chromium()
    flags = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--window-size=1280,2600']
    dom = subprocess.run([exe] + flags + ['--dump-dom', 'file://' + html], capture_output=True, text=True, timeout=120, check=True).stdout
    for chart in CHARTS:
        assert 'id="%s"' % chart in dom, chart
    assert dom.count('<polyline') >= 2 + 4  # two hosts' throughput lines, gpu lines per run
    assert dom.count('<rect class="bar"') >= 6
    assert 'SLO miss' in dom
    # The headline (guide 004's numbers): end-to-end latency percentiles and GPU idle share, one row per run.
    headline = dom.split('<table id="headline">')[1].split('</table>')[0]
    assert '<th>E2E latency p95 ms</th>' in headline and '<th>GPU idle %</th>' in headline
    assert headline.count('<tr>') == 1 + 6 and '<td>25.0</td>' in headline
    shot = os.path.join(OUT, 'report.png')
    subprocess.run([exe] + flags + ['--screenshot=' + shot, 'file://' + html], capture_output=True, timeout=120, check=True)
    width, height, colours = png_size_and_colours(shot)
    assert (width, height) == (1280, 2600)
    assert colours > 20, 'the screenshot looks blank'


def render(name, html_text, height):
    """Write the page, open it in headless Chromium: the rendered DOM and a screenshot under tests/output/<name>/."""
    out = os.path.join(ROOT, 'tests', 'output', name)
    os.makedirs(out, exist_ok=True)
    html = os.path.join(out, 'report.html')
    with open(html, 'w') as handle:
        handle.write(html_text)
    exe = chromium()
    flags = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--window-size=1280,%d' % height]
    dom = subprocess.run([exe] + flags + ['--dump-dom', 'file://' + html], capture_output=True, text=True, timeout=120, check=True).stdout
    shot = os.path.join(out, 'report.png')
    subprocess.run([exe] + flags + ['--screenshot=' + shot, 'file://' + html], capture_output=True, timeout=120, check=True)
    width, dummy, colours = png_size_and_colours(shot)
    assert width == 1280 and colours > 20, 'the screenshot looks blank'
    return dom


def test_capacity_report_renders_with_the_slo_line_and_the_capacity_marked():
    from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import capacity
    slo = {'ttft_p99_ms': 500.0, 'tpot_p99_ms': 50.0}
    hostvars = {}
    for host, knee, price in (('droplet-1', 12.0, 3.39), ('pod-1', 18.0, 2.69)):
        def measure(x, knee=knee):
            rate = knee * 1.4 if x == 'inf' else float(x)
            ttft = 120.0 + max(0.0, rate - knee) * 900.0
            return {'results': {'completed': 100, 'failed': 0, 'ttft_p99_ms': ttft, 'tpot_p99_ms': 20.0 + rate, 'duration_s': 100 / rate,
                                'request_throughput_rps': min(rate, knee * 1.4), 'output_throughput_tok_s': min(rate, knee * 1.4) * 100,
                                'total_output_tokens': 10000}, 'gpu': {'power_mean_w': 350.0}, 'seconds': 100 / rate}
        found = dict(capacity.find_capacity(measure, slo, low=0.5, high=64), slo=slo, mode='rate')
        found['row'] = capacity.node_summary(host, found, price, 'size_gpu_h100x1_80gb' if host.startswith('droplet') else 'gpu_H100_80GB_HBM3')
        hostvars[host] = {'vllm_bench_capacity': found}
    report = capacity.build_report(sorted(hostvars), hostvars, '2026-11-24T08:00:00+00:00')
    dom = render('capacity-report', capacity.to_html(report), 1800)
    for chart in ('chart-capacity-ttft', 'chart-capacity-tpot', 'chart-capacity-nodes', 'chart-capacity-cost'):
        assert 'id="%s"' % chart in dom, chart
    assert dom.count('class="ref"') == 2 and dom.count('class="mark"') >= 4
    assert 'size_gpu_h100x1_80gb' in dom and 'gpu_H100_80GB_HBM3' in dom


def test_redeploy_report_renders_the_canary_comparison():
    from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import redeploy_report
    old = [{'scenario': 'canary-c8', 'results': {'output_throughput_tok_s': 1000.0, 'ttft_p99_ms': 100.0, 'failed': 0}}]
    new = [{'scenario': 'canary-c8', 'results': {'output_throughput_tok_s': 230.0, 'ttft_p99_ms': 1400.0, 'failed': 0}}]
    version = {'image': 'vllm/vllm-openai:v0.32.0', 'model': 'llama', 'fingerprint': 'a' * 12}
    hostvars = {'n1': {'redeploy_before': version, 'redeploy_node': {
        'outcome': 'rolled_back', 'runs': version, 'target': dict(version, fingerprint='b' * 12), 'cause': 'performance gate against n2',
        'perf': {'against': 'n2 (old version, same run)', 'rows': bench_report.canary_rows(new, old, 0.1, 0.2)}}},
        'n2': {'redeploy_before': version}}
    dom = render('redeploy-report', redeploy_report.rollout_html(redeploy_report.rollout_report(['n1', 'n2'], hostvars)), 1400)
    assert 'id="chart-canary-output"' in dom and 'id="chart-canary-p99"' in dom
    assert dom.count('class="fail"') == 2 and 'rolled_back' in dom and 'not reached' in dom
