# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Capacity at SLO: the highest request rate (or concurrency) a server sustains within its SLOs.

Controller side, pure: ``find_capacity`` drives a ``measure(x)`` callable (one real
``vllm bench serve`` run at request rate or concurrency ``x``; the vllm_capacity action passes
one) and returns every step it took. A step passes when no request failed and the p99 TTFT and
p99 TPOT are within the SLOs. The search:

1. Bracket. In rate mode it first runs at an unlimited rate: the request throughput measured
   there (the server saturated) is where the bracket starts; in concurrency mode (or without
   the probe) it starts at ``low``. A passing step is doubled until one misses (or ``high``
   passes); a missing one halved until one passes (or ``low`` misses: the capacity is below the
   range, and the search stops).
2. Bisect between the highest passing and the lowest failing step until the failing one is
   within ``precision`` (relative) of the passing one. A step with failed requests counts as a
   miss at once; the search never goes above a failing step.

Every step the search takes counts toward ``max_runs``, one answered from an earlier run as
well, so the search always ends. ``settings_problems`` checks its settings (every entry point
calls it: the vllm_capacity action, the role through the ``capacity_problems`` filter, and
``find_capacity`` itself): in concurrency mode the bounds are whole numbers from 1 (a
concurrency of 0 means no limit), the SLOs above 0, the request lengths from 1.

``linear_scan`` is what the benchmark compares it with. ``node_summary`` and ``type_summary``
turn a search into the report's rows (rate, output tok/s, cost per million output tokens at that
rate, joules per output token from GPU power readings).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math
from html import escape

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import server_group, svg_chart
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.bench_report import html_page

MODES = ('rate', 'concurrency')
# Rates are measured to 3 decimals (_level): a lower bound under this would be sent as a rate of 0.
RATE_FLOOR = 0.001


def _show(value):
    """A value as the messages print it: numbers as they are, strings (and anything else) in JSON form."""
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)


def _number(value):
    """The value as a finite float (numbers, or strings that read as one), else None (bool is not a number)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, AttributeError):
        return None
    return number if math.isfinite(number) else None


def _whole(value):
    """The value as an int when it is a whole number (64.0 is one, 0.5 is not), else None."""
    number = _number(value)
    return int(number) if number is not None and number == int(number) else None


def _problems(settings, names=None):
    """The problems of the given settings (a key left out is not checked). The rules behind settings_problems."""
    names = names or {}

    def name(key):
        return names.get(key, key)

    def said(key):
        return '%s=%s' % (name(key), _show(settings[key]))

    problems = []
    mode = settings.get('mode')
    if 'mode' in settings and mode not in MODES:
        problems.append('%s must be rate or concurrency' % said('mode'))
    if 'ttft_p99_ms' in settings or 'tpot_p99_ms' in settings:
        slos = [key for key in ('ttft_p99_ms', 'tpot_p99_ms') if settings.get(key) is not None]
        if not slos:
            problems.append('%s and %s are both null: give the SLO the capacity is measured at' % (name('ttft_p99_ms'), name('tpot_p99_ms')))
        for key in slos:
            number = _number(settings[key])
            if number is None or number <= 0:
                problems.append('%s must be milliseconds above 0 (or null: no such SLO)' % said(key))
    if 'low' in settings and 'high' in settings:
        low, high = _number(settings['low']), _number(settings['high'])
        for key, number in (('low', low), ('high', high)):
            if number is None:
                problems.append('%s must be a number above 0' % said(key))
        if any(number is not None and number <= 0 for number in (low, high)) or (
                low is not None and high is not None and low > high):
            problems.append('%s and %s must satisfy 0 < low <= high' % (said('low'), said('high')))
        for key, number in (('low', low), ('high', high)):
            if mode == 'concurrency' and number is not None and number > 0 and (_whole(number) is None or number < 1):
                problems.append('%s must be a whole number of 1 or more in concurrency mode (a concurrency of 0 means no limit)' % said(key))
        if mode == 'rate' and low is not None and 0 < low < RATE_FLOOR:
            problems.append('%s must be %s or more in rate mode (rates are measured to 3 decimals; a lower one is a rate of 0)'
                            % (said('low'), RATE_FLOOR))
    if 'precision' in settings:
        number = _number(settings['precision'])
        if number is None or not 0 < number < 1:
            problems.append('%s must be above 0 and below 1 (0.1: within 10%%)' % said('precision'))
    for key, least in (('max_runs', 2), ('num_prompts', 1)):
        if key in settings:
            whole = _whole(settings[key])
            if whole is None:
                problems.append('%s must be a whole number of %d or more' % (said(key), least))
            elif whole < least:
                problems.append('%s must be %d or more' % (said(key), least))
    for key in ('input_len', 'output_len'):
        if settings.get(key) is not None:
            whole = _whole(settings[key])
            if whole is None or whole < 1:
                problems.append('%s must be a whole number of 1 or more (tokens per request)' % said(key))
    return problems


def settings_problems(mode, low, high, precision, max_runs, num_prompts, ttft_p99_ms, tpot_p99_ms,
                      input_len=None, output_len=None, names=None):
    """The problems of a capacity search's settings, as messages naming the setting, its value and what is allowed.

    ``names`` maps a setting (``low``, ``ttft_p99_ms``...) to the name to print (the role's variable, the action's
    option); a setting without one is printed as it is called here. ``input_len`` and ``output_len`` are checked
    when given. Rules: mode rate or concurrency; at least one SLO, each above 0; 0 < low <= high (in concurrency
    mode whole numbers from 1; in rate mode low from 0.001); precision above 0 and below 1; max_runs a whole
    number of 2 or more; num_prompts, input_len and output_len whole numbers of 1 or more. Non-numbers are
    reported, not raised.
    """
    settings = dict(mode=mode, low=low, high=high, precision=precision, max_runs=max_runs, num_prompts=num_prompts,
                    ttft_p99_ms=ttft_p99_ms, tpot_p99_ms=tpot_p99_ms, input_len=input_len, output_len=output_len)
    return _problems(settings, names)


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
    slo = slo or {}
    problems = _problems(dict(mode=mode, low=low, high=high, precision=precision, max_runs=max_runs,
                              ttft_p99_ms=slo.get('ttft_p99_ms'), tpot_p99_ms=slo.get('tpot_p99_ms')))
    if problems:
        raise ValueError('; '.join(problems))
    low, high, precision, max_runs = _number(low), _number(high), _number(precision), _whole(max_runs)
    steps = []
    cache = {}
    # Every step the loops take counts, those answered from the cache too (a repeated step makes no progress):
    # each loop below takes one step per turn and stops at max_runs, so the search ends after max_runs steps at most.
    taken = [0]

    def more():
        return taken[0] < max_runs

    def run(x, role):
        taken[0] += 1
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

    start = float(low)
    if mode == 'rate' and probe:
        saturation = run('inf', 'saturation')
        probed = saturation['results'] or {}
        if not probed.get('completed'):
            return result(None, saturation, 'no request succeeded at the saturation probe: %s' % '; '.join(saturation['why']))
        # Some requests failed when all came at once: no bound from it; the bracket starts at low.
        if not probed.get('failed') and probed.get('request_throughput_rps'):
            start = min(float(high), max(float(low), float(probed['request_throughput_rps'])))
    # Bracket: from the start, double while the steps pass (up to high), or halve while they miss (down to low).
    ok_step = miss_step = None
    step = run(start, 'bracket')
    if step['ok']:
        ok_step = step
        while miss_step is None and more():
            if float(ok_step['x']) >= float(high):
                return result(ok_step, None, 'the range top passes')
            step = run(min(float(ok_step['x']) * 2, float(high)), 'bracket')
            if step['ok']:
                ok_step = step
            else:
                miss_step = step
    else:
        miss_step = step
    while ok_step is None and more():
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
    while ok_step and miss_step and not _close(mode, ok_step['x'], miss_step['x'], precision) and more():
        # Rates are bisected geometrically (the precision is relative), concurrencies arithmetically.
        mid = (ok_step['x'] + miss_step['x']) / 2.0 if mode == 'concurrency' else math.sqrt(ok_step['x'] * miss_step['x'])
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


def build_report(hosts, hostvars, generated):
    """The fleet's capacity report from each host's vllm_bench_capacity (hosts without one are listed as not searched)."""
    rows, searches = [], {}
    slo = mode = None
    hosts = server_group.serving(hosts, server_group.hostvars_nodes(hosts, hostvars))  # a follower: measured at its leader
    for host in hosts:
        found = (hostvars.get(host) or {}).get('vllm_bench_capacity')
        if not found:
            rows.append({'host': host, 'type': '-', 'capacity': None, 'runs': 0, 'stopped': 'not searched (failed earlier)'})
            continue
        rows.append(found['row'])
        searches[host] = [dict((k, s.get(k)) for k in ('x', 'role', 'ok', 'why', 'results', 'seconds', 'gpu')) for s in found.get('steps') or []]
        slo, mode = found.get('slo'), found.get('mode')
    return {'generated': generated, 'slo': slo or {}, 'mode': mode or 'rate', 'nodes': rows,
            'types': type_summary([r for r in rows if r.get('type') != '-']), 'searches': searches}


def _f(value, digits=2):
    if value is None:
        return '-'
    return ('%.' + str(digits) + 'f') % value if isinstance(value, float) else str(value)


def _unit(report):
    return 'req/s' if report['mode'] == 'rate' else 'concurrent requests'


def type_table(report):
    """The per-type table, as Markdown lines (the summary's first table; capacity.yml prints it)."""
    lines = ['| type | nodes | lowest capacity | mean capacity | output tok/s | $ per M output tokens | J per output token |',
             '| --- | ---: | ---: | ---: | ---: | ---: | ---: |']
    for t in report['types']:
        lines.append('| %s | %d | %s | %s | %s | %s | %s |' % (
            t['type'], t['nodes'], _f(t['capacity_min']), _f(t['capacity_mean']), _f(t['output_tok_s_mean'], 1),
            _f(t['cost_per_million_output_tokens'], 3), _f(t['joules_per_output_token'], 3)))
    return lines


def to_markdown(report):
    slo = report['slo']
    lines = ['# Capacity at SLO', '', 'The highest %s with no failed request, p99 TTFT <= %s ms and p99 TPOT <= %s ms. Generated %s.' % (
        'request rate' if report['mode'] == 'rate' else 'concurrency', _f(slo.get('ttft_p99_ms'), 0), _f(slo.get('tpot_p99_ms'), 0),
        report['generated']), '', '## Per node type', ''] + type_table(report)
    lines += ['', '## Per node (%s)' % _unit(report), '',
              '| node | type | capacity | next step (missed) | output tok/s | p99 TTFT ms | p99 TPOT ms | $ per M output tokens'
              ' | J per output token | runs | stopped |', '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |']
    for r in report['nodes']:
        lines.append('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
            r['host'], r.get('type'), _f(r.get('capacity')), _f(r.get('next_miss')), _f(r.get('output_tok_s'), 1),
            _f(r.get('ttft_p99_ms'), 1), _f(r.get('tpot_p99_ms'), 1), _f(r.get('cost_per_million_output_tokens'), 3),
            _f(r.get('joules_per_output_token'), 3), r.get('runs'), r.get('stopped')))
    for host, steps in sorted(report['searches'].items()):
        lines += ['', '### %s: the search' % host, '', '| run | %s | role | p99 TTFT ms | p99 TPOT ms | failed | verdict |' % (
            'rate' if report['mode'] == 'rate' else 'concurrency'), '| ---: | ---: | --- | ---: | ---: | ---: | --- |']
        for i, s in enumerate(steps, 1):
            res = s.get('results') or {}
            lines.append('| %d | %s | %s | %s | %s | %s | %s |' % (
                i, s['x'], s['role'], _f(res.get('ttft_p99_ms'), 1), _f(res.get('tpot_p99_ms'), 1), res.get('failed'),
                'within' if s['ok'] else '; '.join(s.get('why') or [])))
    return '\n'.join(lines) + '\n'


def to_html(report):
    slo, unit = report['slo'], _unit(report)
    charts = []
    for key, label in (('ttft_p99_ms', 'p99 TTFT'), ('tpot_p99_ms', 'p99 TPOT')):
        series, marks = [], []
        for host, steps in sorted(report['searches'].items()):
            pts = [(s['x'], (s.get('results') or {}).get(key)) for s in steps if s['x'] != 'inf']
            series.append((host, pts))
            row = next((r for r in report['nodes'] if r['host'] == host), {})
            if row.get('capacity') is not None and row.get(key) is not None:
                marks.append((row['capacity'], row[key], 'capacity found'))
        refs = [(slo[key], 'SLO %s ms' % _f(slo[key], 0))] if slo.get(key) else []
        charts.append(svg_chart.line_chart('chart-capacity-%s' % key.split('_', maxsplit=1)[0], '%s against %s, with the SLO and the capacity found'
                                           % (label, 'request rate' if report['mode'] == 'rate' else 'concurrency'),
                                           'request rate (req/s)' if report['mode'] == 'rate' else 'concurrency (requests in flight)',
                                           '%s (ms)' % label, series, refs=refs, marks=marks))
    charts.append(svg_chart.bar_chart('chart-capacity-nodes', 'Capacity per node (%s)' % unit, unit,
                                      [r['host'] for r in report['nodes']], [('capacity', [r.get('capacity') for r in report['nodes']])]))
    charts.append(svg_chart.bar_chart('chart-capacity-cost', 'Cost per million output tokens at capacity, per node type', '$ per M output tokens',
                                      [t['type'] for t in report['types']],
                                      [('$ per M output tokens', [t['cost_per_million_output_tokens'] for t in report['types']])]))
    head = ('type', 'nodes', 'lowest capacity', 'mean capacity', 'output tok/s', '$ per M output tokens', 'J per output token')
    types = ['<table id="types"><thead><tr>%s</tr></thead><tbody>' % ''.join('<th>%s</th>' % h for h in head)]
    types += ['<tr>%s</tr>' % ''.join('<td>%s</td>' % escape(_f(v, 3)) for v in (
        t['type'], t['nodes'], t['capacity_min'], t['capacity_mean'], t['output_tok_s_mean'], t['cost_per_million_output_tokens'],
        t['joules_per_output_token'])) for t in report['types']]
    head = ('node', 'type', 'capacity', 'next step (missed)', 'output tok/s', 'p99 TTFT ms', 'p99 TPOT ms', '$ per M output tokens',
            'J per output token', 'runs', 'stopped')
    nodes = ['<table id="nodes"><thead><tr>%s</tr></thead><tbody>' % ''.join('<th>%s</th>' % h for h in head)]
    nodes += ['<tr>%s</tr>' % ''.join('<td>%s</td>' % escape(_f(v)) for v in (
        r['host'], r.get('type'), r.get('capacity'), r.get('next_miss'), r.get('output_tok_s'), r.get('ttft_p99_ms'),
        r.get('tpot_p99_ms'), r.get('cost_per_million_output_tokens'), r.get('joules_per_output_token'), r.get('runs'),
        r.get('stopped'))) for r in report['nodes']]
    return html_page('Capacity at SLO', [
        '<p id="summary">The highest %s with no failed request, p99 TTFT &le; %s ms and p99 TPOT &le; %s ms. Generated %s.</p>' % (
            'request rate' if report['mode'] == 'rate' else 'concurrency', _f(slo.get('ttft_p99_ms'), 0),
            _f(slo.get('tpot_p99_ms'), 0), escape(report['generated'])),
        '<h2>Per node type</h2>', '\n'.join(types + ['</tbody></table>']),
        '<h2>Per node</h2>', '\n'.join(nodes + ['</tbody></table>']), '<div id="charts">', '\n'.join(charts), '</div>'])
