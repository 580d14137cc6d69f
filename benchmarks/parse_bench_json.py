#!/usr/bin/env python
"""Benchmark: parsing a 10,000-request `vllm bench serve --save-detailed` JSON (goal: under 1 s).

Builds the document in the shape vLLM 0.32 writes (aggregates in ms, per-request lists in
seconds: input_lens, output_lens, ttfts, itls (one list per request), latencies,
start_times, generated_texts, errors), then times module_utils.vllm_bench_output.parse_json
on its text, with the per-request lists converted to ms. Prints the median of R runs.

  .venv/bin/python benchmarks/parse_bench_json.py [--requests 10000] [--output-len 100] [--rounds 5]
"""
import argparse
import json
import os
import random
import statistics
import sys
import time

from bedlib import setup

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, os.path.join(ROOT, '.collections'))
setup(bed=False)  # the collection link, before the import below
from ansible_collections.inferops.gpu_inference.plugins.module_utils.vllm_bench_output import parse_json  # noqa: E402


def document(n, output_len, seed=0):
    rnd = random.Random(seed)
    ttfts = [rnd.uniform(0.02, 0.4) for dummy in range(n)]
    itls = [[rnd.uniform(0.01, 0.05) for dummy2 in range(output_len - 1)] for dummy in range(n)]
    doc = {'date': '20261122-080000', 'backend': 'vllm', 'model_id': 'tiny-llama', 'tokenizer_id': '/models/tiny-llama',
           'num_prompts': n, 'request_rate': 'inf', 'burstiness': 1.0, 'max_concurrency': None,
           'duration': 100.0, 'completed': n, 'failed': 0, 'total_input_tokens': n * 1000, 'total_output_tokens': n * output_len,
           'request_throughput': n / 100.0, 'request_goodput': None, 'output_throughput': n * output_len / 100.0,
           'total_token_throughput': n * (1000 + output_len) / 100.0,
           'input_lens': [1000] * n, 'output_lens': [output_len] * n, 'ttfts': ttfts, 'itls': itls,
           'latencies': [t + sum(i) for t, i in zip(ttfts, itls)], 'start_times': [k * 0.01 for k in range(n)],
           'generated_texts': ['x' * 40] * n, 'errors': [''] * n}
    for metric in ('ttft', 'tpot', 'itl', 'e2el'):
        for stat in ('mean', 'median', 'std', 'p50', 'p90', 'p99', 'p99.9'):
            doc['%s_%s_ms' % (stat, metric)] = 12.5
    return json.dumps(doc)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--requests', type=int, default=10000)
    parser.add_argument('--output-len', type=int, default=100)
    parser.add_argument('--rounds', type=int, default=5)
    args = parser.parse_args()
    text = document(args.requests, args.output_len)
    times = []
    for dummy in range(args.rounds):
        t0 = time.perf_counter()
        out = parse_json(text, detailed=True)
        times.append(time.perf_counter() - t0)
    assert len(out['requests']['itl_ms']) == args.requests
    print('document: %d requests, %d ITLs each, %.1f MB of JSON' % (args.requests, args.output_len - 1, len(text) / 1e6))
    print('parse_json (with per-request lists to ms): median %.3f s, runs: %s' % (
        statistics.median(times), ', '.join('%.3f' % t for t in times)))
    print('goal: under 1 s -> %s' % ('met' if statistics.median(times) < 1.0 else 'NOT met'))


if __name__ == '__main__':
    main()
