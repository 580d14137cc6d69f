# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The output of `vllm bench serve` (and of the older benchmarks/benchmark_serving.py).

Owns both formats and turns them into one flat schema with the unit in each key name:

  completed, failed, max_concurrency, request_rate_rps (None when unlimited),
  request_rate_unlimited, duration_s, total_input_tokens, total_output_tokens,
  request_throughput_rps, request_goodput_rps, output_throughput_tok_s,
  peak_output_throughput_tok_s, peak_concurrent_requests, total_token_throughput_tok_s,
  <metric>_<stat>_ms for metric in ttft, tpot, itl, e2el (and client_queue_time,
  e2el_including_client_queue) and stat in mean, median, std, p<N> (p99_9 for P99.9),
  spec_acceptance_rate_pct, spec_acceptance_length, spec_drafts, spec_draft_tokens,
  spec_accepted_tokens, spec_per_position_acceptance_pct (list),
  probe_completed, probe_failed, probe_<stat>_e2el_ms,
  and from JSON only: date, backend, model_id, tokenizer_id, num_prompts, burstiness, and
  `requests` (per-request lists from --save-detailed, converted from seconds to ms:
  input_tokens, output_tokens, ttft_ms, e2el_ms, itl_ms (a list per request), start_time_s,
  error, generated_text).

Lines of the result block (or JSON keys) it does not know go to `unparsed`, never dropped.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

SCALARS = {
    'successful requests': ('completed', int),
    'failed requests': ('failed', int),
    'maximum request concurrency': ('max_concurrency', int),
    'request rate configured (rps)': ('request_rate_rps', float),
    'benchmark duration (s)': ('duration_s', float),
    'total input tokens': ('total_input_tokens', int),
    'total generated tokens': ('total_output_tokens', int),
    'request throughput (req/s)': ('request_throughput_rps', float),
    'request goodput (req/s)': ('request_goodput_rps', float),
    'input throughput (inputs/s)': ('input_throughput_inputs_s', float),
    'output token throughput (tok/s)': ('output_throughput_tok_s', float),
    'peak output token throughput (tok/s)': ('peak_output_throughput_tok_s', float),
    'peak concurrent requests': ('peak_concurrent_requests', float),
    'rtfx (inverse real-time factor)': ('rtfx', float),
    'total token throughput (tok/s)': ('total_token_throughput_tok_s', float),
    'acceptance rate (%)': ('spec_acceptance_rate_pct', float),
    'acceptance length': ('spec_acceptance_length', float),
    'drafts': ('spec_drafts', int),
    'draft tokens': ('spec_draft_tokens', int),
    'accepted tokens': ('spec_accepted_tokens', int),
    'probe requests completed': ('probe_completed', int),
    'probe requests failed': ('probe_failed', int),
    'committed throughput (tok/s)': ('diffusion_committed_throughput_tok_s', float),
    'denoising steps per canvas': ('diffusion_steps_per_canvas', float),
    'committed per denoising step': ('diffusion_committed_per_step', float),
    'committed tokens': ('diffusion_committed_tokens', int),
    'denoising steps': ('diffusion_denoising_steps', int),
    'canvas positions evaluated': ('diffusion_canvas_positions', int),
}
METRICS = {
    'TTFT': 'ttft', 'TPOT': 'tpot', 'ITL': 'itl', 'E2EL': 'e2el',
    'Client Queue Time': 'client_queue_time', 'E2EL incl. Client Queue': 'e2el_including_client_queue',
    'probe E2EL': 'probe_e2el',
}
LATENCY_LINE = re.compile(r'^(Mean|Median|Std|Max|P(\d+(?:\.\d+)?)) (.+?) \(ms\):\s+(\S+)\s*$')
LABEL_LINE = re.compile(r'^(.+?):\s+(\S+)\s*$')
POSITION_LINE = re.compile(r'^\s+Position (\d+):\s+(\S+)\s*$')
SECTION_LINE = re.compile(r'^[=-]{3,}\s*([^=-].*?)\s*[=-]{3,}$|^[=-]{10,}$')
HEADER = 'Serving Benchmark Result'
JSON_LATENCY_KEY = re.compile(r'^(mean|median|std|p\d+(?:\.\d+)?)_(\w+?)_ms$')
JSON_SCALARS = {
    'duration': 'duration_s', 'completed': 'completed', 'failed': 'failed',
    'total_input_tokens': 'total_input_tokens', 'total_output_tokens': 'total_output_tokens',
    'request_throughput': 'request_throughput_rps', 'request_goodput': 'request_goodput_rps',
    'request_goodput:': 'request_goodput_rps', 'output_throughput': 'output_throughput_tok_s',
    'total_token_throughput': 'total_token_throughput_tok_s',
    'max_output_tokens_per_s': 'peak_output_throughput_tok_s', 'max_concurrent_requests': 'peak_concurrent_requests',
    'max_concurrency': 'max_concurrency', 'burstiness': 'burstiness', 'num_prompts': 'num_prompts',
    'date': 'date', 'backend': 'backend', 'model_id': 'model_id', 'tokenizer_id': 'tokenizer_id',
    'endpoint_type': 'endpoint_type', 'label': 'label', 'rtfx': 'rtfx',
}
# --save-detailed lists: JSON key -> (normalized key, factor to the unit in the name)
JSON_REQUESTS = {
    'input_lens': ('input_tokens', None), 'output_lens': ('output_tokens', None),
    'ttfts': ('ttft_ms', 1000.0), 'latencies': ('e2el_ms', 1000.0), 'itls': ('itl_ms', 1000.0),
    'start_times': ('start_time_s', None), 'queue_times': ('client_queue_time_ms', 1000.0),
    'errors': ('error', None), 'generated_texts': ('generated_text', None),
}
# Keys of the result JSON that hold settings or bookkeeping rather than results.
JSON_KNOWN_OTHER = frozenset(('request_rate', 'goodput', 'spec_decode', 'percentile_metrics', 'metric_percentiles',
                              'ignore_eos', 'extra_body', 'sampling_params'))


class BenchOutputError(ValueError):
    pass


def _stat_key(stat):
    """'Mean' -> mean, 'P99.9' -> p99_9."""
    return stat.lower().replace('.', '_')


def _number(text, kind=float):
    if text.lower() in ('inf', 'infinity'):
        return float('inf')
    if text.lower() in ('none', 'null', 'n/a'):
        return None
    value = float(text)
    return int(value) if kind is int and value == int(value) else value


def parse_text(text):
    """The result block of `vllm bench serve` stdout (everything else on stdout is ignored)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if HEADER in line), None)
    if start is None:
        raise BenchOutputError('no "%s" block in the output' % HEADER)
    out = {'unparsed': [], 'section_names': []}
    positions = []
    for line in lines[start + 1:]:
        stripped = line.strip()
        if not stripped:
            continue
        section = SECTION_LINE.match(stripped)
        if section:
            if section.group(1) is None and stripped.startswith('='):
                break  # the closing ==== line
            if section.group(1):
                out['section_names'].append(section.group(1))
            continue
        position = POSITION_LINE.match(line)
        if position:
            positions.append(_number(position.group(2)))
            continue
        if stripped == 'Per-position acceptance (%):':
            continue
        latency = LATENCY_LINE.match(stripped)
        if latency and latency.group(3) in METRICS:
            out['%s_%s_ms' % (METRICS[latency.group(3)], _stat_key(latency.group(1)))] = _number(latency.group(4))
            continue
        label = LABEL_LINE.match(stripped)
        if label and label.group(1).lower() in SCALARS:
            key, kind = SCALARS[label.group(1).lower()]
            try:
                out[key] = _number(label.group(2), kind)
            except ValueError:
                out['unparsed'].append(line)
            continue
        out['unparsed'].append(line)
    if positions:
        out['spec_per_position_acceptance_pct'] = positions
    _finish(out)
    return out


def _finish(out):
    rate = out.get('request_rate_rps')
    out['request_rate_unlimited'] = rate is None or rate == float('inf')
    if out['request_rate_unlimited']:
        out['request_rate_rps'] = None


def parse_json(data, detailed=True):
    """A --save-result JSON document (a dict, or its text)."""
    if not isinstance(data, dict):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise BenchOutputError('not a benchmark result JSON: %s' % exc)
        if not isinstance(data, dict):
            raise BenchOutputError('not a benchmark result JSON object')
    out = {'unparsed': []}
    requests = {}
    for key, value in data.items():
        if key in JSON_SCALARS:
            out[JSON_SCALARS[key]] = value
            continue
        if key in JSON_REQUESTS:
            if key == 'errors' and isinstance(value, list):
                errors = [e for e in value if e]
                if errors:
                    out['first_error'] = str(errors[0]).strip().splitlines()[-1][:500] if str(errors[0]).strip() else None
                    out['errors_count'] = len(errors)
            if detailed and isinstance(value, list):
                name, factor = JSON_REQUESTS[key]
                requests[name] = _scale(value, factor) if factor else value
            continue
        latency = JSON_LATENCY_KEY.match(key)
        if latency:
            out['%s_%s_ms' % (latency.group(2), _stat_key(latency.group(1)))] = value
            continue
        if key == 'request_rate':
            out['request_rate_rps'] = _number(str(value)) if value is not None else None
            continue
        if key == 'spec_decode' and isinstance(value, dict):
            for sub, name in (('acceptance_rate', 'spec_acceptance_rate_pct'), ('acceptance_length', 'spec_acceptance_length'),
                              ('num_drafts', 'spec_drafts'), ('draft_tokens', 'spec_draft_tokens'),
                              ('accepted_tokens', 'spec_accepted_tokens')):
                if sub in value:
                    out[name] = value[sub]
            continue
        if key in JSON_KNOWN_OTHER:
            out.setdefault('settings', {})[key] = value
            continue
        out['unparsed'].append(key)
    _finish(out)
    if requests:
        out['requests'] = requests
    return out


def _scale(values, factor):
    out = []
    for value in values:
        if isinstance(value, list):
            out.append([v * factor for v in value])
        elif value is None:
            out.append(None)
        else:
            out.append(value * factor)
    return out


def merge(text_result, json_result):
    """One record from both: the JSON's values win, the text adds what the JSON lacks."""
    merged = dict(text_result or {})
    unparsed = list(merged.get('unparsed', []))
    for key, value in (json_result or {}).items():
        if key == 'unparsed':
            unparsed += ['json key: %s' % k for k in value]
        elif value is not None or key not in merged:
            merged[key] = value
    merged['unparsed'] = unparsed
    return merged
