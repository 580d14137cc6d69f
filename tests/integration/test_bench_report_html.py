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
                         'gpu': {'samples': 10, 'util_mean_pct': 60.0 * speed}, 'cost_per_million_output_tokens': 1.5,
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
    shot = os.path.join(OUT, 'report.png')
    subprocess.run([exe] + flags + ['--screenshot=' + shot, 'file://' + html], capture_output=True, timeout=120, check=True)
    width, height, colours = png_size_and_colours(shot)
    assert (width, height) == (1280, 2600)
    assert colours > 20, 'the screenshot looks blank'
