# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Capacity at SLO: the highest request rate (or concurrency) a server sustains within its SLOs.

Controller side, pure: ``find_capacity`` drives a ``measure(x)`` callable (one real
``vllm bench serve`` run at request rate or concurrency ``x``; the vllm_capacity action passes
one) and returns every step it took. A step passes when no request failed and the p99 TTFT and
p99 TPOT are within the SLOs. The search:

1. Bracket. In rate mode it first runs at an unlimited rate: the request throughput measured
   there is the most the server can sustain, so the bracket's top is min(high, that). In
   concurrency mode it doubles from ``low``. A failing step is halved until one passes (or
   ``low`` fails: the capacity is below the range, and the search stops).
2. Bisect between the highest passing and the lowest failing step until the failing one is
   within ``precision`` (relative) of the passing one. A step with failed requests counts as a
   miss at once; the search never goes above a failing step.

``linear_scan`` is what the benchmark compares it with. ``node_summary`` and ``type_summary``
turn a search into the report's rows (rate, output tok/s, cost per million output tokens at that
rate, joules per output token from GPU power readings).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

MODES = ('rate', 'concurrency')


def judge(results, slo):
    """(ok, reasons) for one run's normalized results against {ttft_p99_ms, tpot_p99_ms}."""
    results = results or {}
    reasons = []
    failed = int(results.get('failed') or 0)
    if failed or not results.get('completed'):
        reasons.append('%d failed request(s)' % failed)
    for key, label in (('ttft_p99_ms', 'p99 TTFT'), ('tpot_p99_ms', 'p99 TPOT')):
        limit = (slo or {}).get(key)
        value = results.get(key)
        if limit not in (None, '') and (value is None or value > float(limit)):
            reasons.append('%s %s ms > %s ms' % (label, '?' if value is None else round(value, 1), float(limit)))
    return not reasons, reasons


def _level(mode, x):
    return int(round(x)) if mode == 'concurrency' else round(float(x), 3)


def _close(mode, ok_x, miss_x, precision):
    if mode == 'concurrency':
        return miss_x - ok_x <= max(1, int(math.floor(precision * ok_x)))
    return miss_x <= ok_x * (1.0 + precision) + 1e-9


def find_capacity(measure, slo, mode='rate', low=1.0, high=64.0, precision=0.1, max_runs=12, probe=True):
    """Bracket then bisect. measure(x) -> {results, gpu, seconds} (x: a rate in req/s, 'inf', or a concurrency).

    Returns {capacity, capacity_step, next_step, steps, runs, stopped}. ``capacity`` is None when
    even ``low`` misses. ``next_step`` is the lowest measured level that missed (None when the
    capacity is the range's top or the server's saturation rate).
    """
    if mode not in MODES:
        raise ValueError('mode must be one of %s' % ', '.join(MODES))
    steps = []
    cache = {}

    def run(x, role):
        x = 'inf' if x == 'inf' else _level(mode, x)
        if x in cache:
            return cache[x]
        measured = measure(x)
        ok, reasons = judge(measured.get('results'), slo)
        step = dict(measured, x=x, role=role, ok=ok, why=reasons)
        steps.append(step)
        cache[x] = step
        return step

    def result(ok_step, miss_step, stopped):
        return {'capacity': ok_step['x'] if ok_step else None, 'capacity_step': ok_step,
                'next_step': miss_step, 'steps': steps, 'runs': len(steps), 'stopped': stopped}

    top = float(high)
    if mode == 'rate' and probe:
        saturation = run('inf', 'saturation')
        rps = (saturation['results'] or {}).get('request_throughput_rps')
        if (saturation['results'] or {}).get('failed') or not rps:
            return result(None, saturation, 'requests failed at the saturation probe: %s' % '; '.join(saturation['why']))
        top = min(top, float(rps))
    # Bracket: the top (or the doublings from low in concurrency mode), then halve a miss until a pass.
    ok_step = miss_step = None
    if mode == 'concurrency' or not probe:
        x = float(low)
        while len(steps) < max_runs:
            step = run(min(x, top), 'bracket')
            if not step['ok']:
                miss_step = step
                break
            ok_step = step
            if x >= top:
                return result(ok_step, None, 'the range top passes')
            x *= 2
    else:
        step = run(max(top, float(low)), 'bracket')
        if step['ok']:
            return result(step, None, 'passes at the range top' if top >= float(high) else 'passes at the saturation rate')
        miss_step = step
    while ok_step is None and len(steps) < max_runs:
        x = miss_step['x'] / 2.0
        if x < float(low) - 1e-9:
            step = run(low, 'bracket') if _level(mode, low) != miss_step['x'] else miss_step
            if step['ok']:
                ok_step = step
                break
            return result(None, step, 'misses at the range bottom')
        step = run(x, 'bracket')
        if step['ok']:
            ok_step = step
        else:
            miss_step = step
    # Bisect.
    while ok_step and miss_step and not _close(mode, ok_step['x'], miss_step['x'], precision) and len(steps) < max_runs:
        mid = (ok_step['x'] + miss_step['x']) / 2.0
        if _level(mode, mid) in (ok_step['x'], miss_step['x']):
            break
        step = run(mid, 'bisect')
        if step['ok']:
            ok_step = step
        else:
            miss_step = step
    close = ok_step and miss_step and _close(mode, ok_step['x'], miss_step['x'], precision)
    return result(ok_step, miss_step, 'within precision' if close else 'run limit (max_runs) reached')


def linear_scan(measure, slo, start, step, high):
    """The scan the search is measured against: start, start+step, ... up to the first miss."""
    steps = []
    x = float(start)
    while x <= float(high) + 1e-9:
        measured = measure(round(x, 3))
        ok, reasons = judge(measured.get('results'), slo)
        steps.append(dict(measured, x=round(x, 3), ok=ok, why=reasons))
        if not ok:
            break
        x += step
    passing = [s['x'] for s in steps if s['ok']]
    return {'capacity': passing[-1] if passing else None, 'steps': steps, 'runs': len(steps)}


def node_summary(host, search, price_per_hour=0, node_type=''):
    """One report row: the capacity and, at it, output tok/s, cost per million output tokens, J per output token."""
    at = (search.get('capacity_step') or {}).get('results') or {}
    gpu = (search.get('capacity_step') or {}).get('gpu') or {}
    tok_s = at.get('output_throughput_tok_s')
    row = {'host': host, 'type': node_type, 'capacity': search.get('capacity'), 'runs': search.get('runs'),
           'stopped': search.get('stopped'), 'output_tok_s': tok_s, 'request_rps': at.get('request_throughput_rps'),
           'ttft_p99_ms': at.get('ttft_p99_ms'), 'tpot_p99_ms': at.get('tpot_p99_ms'),
           'next_miss': (search.get('next_step') or {}).get('x'), 'price_per_hour': float(price_per_hour or 0)}
    row['cost_per_million_output_tokens'] = (round(row['price_per_hour'] / (tok_s * 3600.0) * 1e6, 4)
                                             if row['price_per_hour'] and tok_s else None)
    power, duration, tokens = gpu.get('power_mean_w'), at.get('duration_s'), at.get('total_output_tokens')
    row['joules_per_output_token'] = round(power * duration / tokens, 4) if power and duration and tokens else None
    return row


def type_summary(rows):
    """Per node type: nodes, the lowest and mean capacity, mean output tok/s, mean cost and J per output token."""
    out = []
    for node_type in sorted(set(r['type'] for r in rows)):
        mine = [r for r in rows if r['type'] == node_type]
        found = [r for r in mine if r['capacity'] is not None]

        def mean(key, found=found):
            vals = [r[key] for r in found if r.get(key) is not None]
            return round(sum(vals) / len(vals), 4) if vals else None
        out.append({'type': node_type, 'nodes': len(mine), 'found': len(found),
                    'capacity_min': min([r['capacity'] for r in found]) if found else None,
                    'capacity_mean': mean('capacity'), 'output_tok_s_mean': mean('output_tok_s'),
                    'cost_per_million_output_tokens': mean('cost_per_million_output_tokens'),
                    'joules_per_output_token': mean('joules_per_output_token')})
    return out
