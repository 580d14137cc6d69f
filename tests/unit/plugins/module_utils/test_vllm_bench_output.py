"""The vllm bench serve parser: real outputs of vLLM 0.32 made here (real-*) and older-format samples."""
import glob
import json
import os

import pytest

from ansible_collections.inferops.gpu_inference.plugins.module_utils.vllm_bench_output import (
    BenchOutputError, merge, parse_json, parse_text)

FIX = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'vllm_bench')


def read(name):
    with open(os.path.join(FIX, name)) as handle:
        return handle.read()


def test_older_text_with_capitalised_total_and_goodput():
    out = parse_text(read('older-benchmark-serving.txt'))
    assert out['completed'] == 10 and out['total_output_tokens'] == 1280
    assert out['total_token_throughput_tok_s'] == 2223.91  # "Total Token throughput"
    assert out['request_goodput_rps'] == 1.54
    assert out['ttft_p99_ms'] == 1402.77 and out['itl_median_ms'] == 31.22
    assert out['request_rate_unlimited'] is True and out['request_rate_rps'] is None
    assert out['unparsed'] == []
    assert 'failed' not in out  # older versions do not print it


def test_older_json_with_colon_goodput_and_inf_rate_and_seconds():
    out = parse_json(read('older-benchmark-serving.json'))
    assert out['request_goodput_rps'] == 1.54  # the "request_goodput:" key
    assert out['request_rate_unlimited'] is True
    assert out['ttft_std_ms'] == 120.5
    assert out['requests']['ttft_ms'] == pytest.approx([812.4, 799.0])  # seconds -> ms
    assert out['requests']['itl_ms'][0] == pytest.approx([33.0, 31.0])
    assert out['unparsed'] == ['best_of', 'use_beam_search']


def test_percentiles_fractional_spec_decode_and_unknown_lines():
    out = parse_text(read('spec-decode-and-percentiles.txt'))
    assert out['failed'] == 2 and out['max_concurrency'] == 16 and out['request_rate_rps'] == 10.0
    assert out['ttft_p99_9_ms'] == 95.67 and out['ttft_p50_ms'] == 39.8 and out['e2el_p99_9_ms'] == 2100.1
    assert out['spec_acceptance_rate_pct'] == 71.25 and out['spec_drafts'] == 3400
    assert out['spec_per_position_acceptance_pct'] == [88.1, 72.4, 61.0]
    assert out['unparsed'] == ['A line from a future vLLM:               42        ']
    assert 'Speculative Decoding' in out['section_names']


def test_no_result_block_is_an_error():
    with pytest.raises(BenchOutputError):
        parse_text('Traceback (most recent call last):\n  boom\n')
    with pytest.raises(BenchOutputError):
        parse_json('[1, 2]')


@pytest.mark.parametrize('stem', sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(FIX, 'real-*.txt'))))
def test_real_outputs_text_and_json_agree(stem):
    """Outputs of the real `vllm bench serve` 0.32 on the CPU bed, several flag combinations."""
    text = parse_text(read(stem + '.txt'))
    data = parse_json(read(stem + '.json'))
    assert text['unparsed'] == [], text['unparsed']
    for key in ('completed', 'failed', 'total_input_tokens', 'total_output_tokens'):
        assert text[key] == data[key], key
    for key in ('request_throughput_rps', 'output_throughput_tok_s', 'ttft_mean_ms', 'ttft_median_ms'):
        assert text[key] == pytest.approx(data[key], abs=0.006), key
    merged = merge(text, data)
    assert merged['completed'] == data['completed']
    if stem.endswith('save-detailed'):  # per-request lists, seconds turned into ms
        requests = data['requests']
        assert len(requests['ttft_ms']) == data['completed'] + data['failed']
        assert min(requests['ttft_ms']) > 1.0  # real TTFTs here are tens of ms, never under 1 ms once in ms
        assert sum(requests['ttft_ms']) / len(requests['ttft_ms']) == pytest.approx(text['ttft_mean_ms'], abs=0.01)


def test_parse_speed_10k_detailed(tmp_path):
    """Timing lives in benchmarks/parse_bench_json.py; here only that a 10k document parses whole."""
    doc = json.loads(read('older-benchmark-serving.json'))
    n = 10000
    doc.update(input_lens=[100] * n, output_lens=[20] * n, ttfts=[0.05] * n, latencies=[1.0] * n,
               itls=[[0.03] * 19] * n, errors=[''] * n, generated_texts=['x'] * n, completed=n)
    out = parse_json(json.dumps(doc))
    assert len(out['requests']['itl_ms']) == n and out['requests']['e2el_ms'][0] == 1000.0
