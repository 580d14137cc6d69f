# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmark records, SLO gates and the fleet report (JSON, CSV, Markdown, HTML with SVG charts).

Controller side. Records are one per host and scenario; /metrics deltas are computed with
prometheus_client from the snapshots vllm_bench takes before and after each run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import io
import json
import math
import re
from html import escape

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import server_group, svg_chart


def _metric_families(text):
    """prometheus_client's parser, imported where it is used: it costs ~0.1 s, and Ansible loads every filter file of
    the collection (this module among them) in each worker that templates one of its filters. None without it."""
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:  # pragma: no cover
        return None
    return text_string_to_metric_families(text)


SCENARIO_KEYS = ('num_prompts', 'request_rate', 'max_concurrency', 'input_len', 'output_len', 'dataset_name', 'burstiness')
# vLLM /metrics counters (sample names) whose change over a run is reported.
COUNTERS = {
    'vllm:request_success_total': 'requests_succeeded', 'vllm:prompt_tokens_total': 'prompt_tokens',
    'vllm:generation_tokens_total': 'generation_tokens', 'vllm:num_preemptions_total': 'preemptions',
}
GAUGES = {'vllm:kv_cache_usage_perc': 'kv_cache_usage', 'vllm:gpu_cache_usage_perc': 'kv_cache_usage',
          'vllm:num_requests_running': 'requests_running', 'vllm:num_requests_waiting': 'requests_waiting'}
CSV_COLUMNS = ('host', 'scenario', 'num_prompts', 'request_rate', 'max_concurrency', 'input_len', 'output_len',
               'completed', 'failed', 'duration_s', 'request_throughput_rps', 'output_throughput_tok_s',
               'total_token_throughput_tok_s', 'ttft_mean_ms', 'ttft_p50_ms', 'ttft_p90_ms', 'ttft_p99_ms',
               'tpot_mean_ms', 'tpot_p99_ms', 'itl_mean_ms', 'itl_p99_ms', 'e2el_mean_ms', 'e2el_p50_ms', 'e2el_p95_ms', 'e2el_p99_ms',
               'gpu_util_mean_pct', 'gpu_util_peak_pct', 'gpu_idle_fraction', 'gpu_mem_used_peak_mib', 'gpu_power_mean_w',
               'metrics_generation_tokens', 'metrics_preemptions', 'cost_per_million_output_tokens', 'idle_cost_per_hour')


def sweep_scenario(level, per_level, input_len, output_len):
    return {'name': 'concurrency-%d' % level, 'num_prompts': level * per_level, 'max_concurrency': level,
            'request_rate': 'inf', 'input_len': input_len, 'output_len': output_len}


SCENARIO_OPTIONS = ('name', 'num_prompts', 'request_rate', 'max_concurrency', 'input_len', 'output_len', 'dataset_name',
                    'dataset_path', 'burstiness', 'seed', 'goodput', 'backend', 'endpoint')
SCENARIO_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$')


def _whole(value, least):
    try:
        return not isinstance(value, bool) and float(value) == int(float(value)) and int(float(value)) >= least
    except (TypeError, ValueError):
        return False


def sweep_problems(levels):
    """The concurrency sweep's levels, as the user wrote them (before they become scenarios named concurrency-N)."""
    if not isinstance(levels, list):
        return ['vllm_bench_concurrency_sweep=%s must be a list of concurrency levels of 1 or more' % (levels,)]
    problems = ['vllm_bench_concurrency_sweep[%d]=%s must be a whole number of 1 or more (concurrent requests)' % (i, v)
                for i, v in enumerate(levels) if not _whole(v, 1)]
    good = [int(float(v)) for v in levels if _whole(v, 1)]
    if len(set(good)) != len(good):
        problems.append('vllm_bench_concurrency_sweep=%s lists a level twice' % (levels,))
    return problems


def scenario_problems(scenarios):
    """What is wrong with vllm_bench_scenarios (each item named by its index, the value and what is allowed)."""
    if not isinstance(scenarios, list):
        return ['vllm_bench_scenarios must be a list of scenarios (dictionaries)']
    problems, names = [], set()
    for index, item in enumerate(scenarios):
        where = 'vllm_bench_scenarios[%d]' % index
        if not isinstance(item, dict):
            problems.append('%s must be a dictionary' % where)
            continue
        unknown = sorted(str(k) for k in item if k not in SCENARIO_OPTIONS)
        if unknown:
            problems.append('%s has unknown key(s) %s; allowed: %s' % (where, ', '.join(unknown), ', '.join(SCENARIO_OPTIONS)))
        name = item.get('name')
        if not name or not SCENARIO_NAME.match(str(name)):
            problems.append('%s.name=%s must be 1 to 64 letters, digits, - or _ (it names a result file)' % (where, json.dumps(name)))
        elif name in names:
            problems.append('%s.name=%s is used twice' % (where, name))
        names.add(name)
        for key in ('num_prompts', 'input_len', 'output_len', 'max_concurrency', 'seed'):
            if key in item and not _whole(item[key], 1 if key in ('num_prompts', 'input_len', 'output_len') else 0):
                problems.append('%s.%s=%s must be a whole number of %s or more' % (
                    where, key, item[key], 1 if key in ('num_prompts', 'input_len', 'output_len') else 0))
        if 'num_prompts' not in item:
            problems.append('%s.num_prompts is missing' % where)
        rate = str(item.get('request_rate', 'inf'))
        if rate != 'inf':
            try:
                value = float(rate)
                if value <= 0 or math.isnan(value):
                    raise ValueError
            except ValueError:
                problems.append('%s.request_rate=%s must be a positive number or inf' % (where, rate))
        if 'burstiness' in item:
            try:
                value = float(item['burstiness'])
                if value <= 0 or math.isnan(value):
                    raise ValueError
            except (TypeError, ValueError):
                problems.append('%s.burstiness=%s must be a positive number' % (where, item['burstiness']))
        dataset = item.get('dataset_name', 'random')
        if dataset not in ('random', 'sharegpt'):
            problems.append('%s.dataset_name=%s must be random or sharegpt' % (where, dataset))
        elif dataset == 'sharegpt' and not item.get('dataset_path'):
            problems.append('%s.dataset_name=sharegpt needs dataset_path (the ShareGPT JSON file on the node)' % where)
        path = item.get('dataset_path')
        if path is not None and not (isinstance(path, str) and path.startswith('/') and not re.search(r'[\s\x00-\x1f]', path)):
            problems.append('%s.dataset_path=%s must be an absolute path on the node' % (where, json.dumps(path)))
    return problems


PERF_GATE_KEYS = ('scenarios', 'reference', 'against', 'max_throughput_drop', 'max_ttft_rise')


def _fraction(value, below_one):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, bool) and number >= 0 and (number < 1 or not below_one) and not math.isnan(number)


def perf_gate_problems(gate, name='vllm_server_perf_gate'):
    """What is wrong with a performance gate (vllm_server_perf_gate: redeploy.yml's canary gate), checked before the
    server is replaced: {} (no gate) or scenarios as vllm_bench takes them, the old version's records, and the allowed
    drop (a fraction below 1) and rise (a fraction of 0 or more), at least one of them."""
    if gate in (None, {}):
        return []
    if not isinstance(gate, dict):
        return ['%s=%s must be a dictionary (scenarios, reference, max_throughput_drop, max_ttft_rise) or {} for no gate' % (
            name, json.dumps(gate, default=str)[:80])]
    problems = []
    unknown = sorted(str(k) for k in gate if k not in PERF_GATE_KEYS)
    if unknown:
        problems.append('%s has unknown key(s) %s; allowed: %s' % (name, ', '.join(unknown), ', '.join(PERF_GATE_KEYS)))
    scenarios = gate.get('scenarios')
    if not scenarios:
        problems.append('%s.scenarios is empty: the gate needs scenarios to run on the new server' % name)
    else:
        problems.extend(p.replace('vllm_bench_scenarios', name + '.scenarios', 1) for p in scenario_problems(scenarios))
    if not isinstance(gate.get('reference'), list):
        problems.append('%s.reference must be the old version\'s benchmark records (a list), not %s' % (
            name, json.dumps(gate.get('reference'), default=str)[:80]))
    drop, rise = gate.get('max_throughput_drop'), gate.get('max_ttft_rise')
    if drop in (None, '') and rise in (None, ''):
        problems.append('%s needs max_throughput_drop or max_ttft_rise (or both): what the new version may lose' % name)
    if drop not in (None, '') and not _fraction(drop, True):
        problems.append('%s.max_throughput_drop=%s must be a fraction from 0 to below 1 (0.1: 10%%)' % (name, json.dumps(drop, default=str)))
    if rise not in (None, '') and not _fraction(rise, False):
        problems.append('%s.max_ttft_rise=%s must be a fraction of 0 or more (0.2: 20%%)' % (name, json.dumps(rise, default=str)))
    return problems


def _samples(text):
    out = {}
    families = _metric_families(text) if text else None
    if families is None:
        return out
    for family in families:
        for sample in family.samples:
            out[sample.name] = out.get(sample.name, 0.0) + sample.value
    return out


def metrics_delta(before, after):
    b, a = _samples(before), _samples(after)
    out = {}
    for name, key in COUNTERS.items():
        if name in a:
            out[key] = a[name] - b.get(name, 0.0)
    for name, key in GAUGES.items():
        if name in a:
            out[key + '_after'] = a[name]
    return out


def records(runs, host, price_per_hour=0):
    out = []
    for run in runs or []:
        item = run.get('item') or {}
        if run.get('failed') or 'bench' not in run:
            out.append({'host': host, 'scenario': item.get('name'), 'error': run.get('msg', 'did not run'),
                        'settings': dict((k, item.get(k)) for k in SCENARIO_KEYS if k in item), 'results': {}})
            continue
        results = dict(run['bench'])
        record = {'host': host, 'scenario': item.get('name'),
                  'settings': dict((k, item.get(k)) for k in SCENARIO_KEYS if k in item),
                  'results': results, 'raw_json': run.get('raw_json'), 'seconds': run.get('seconds')}
        gpu = run.get('gpu')
        if gpu:
            record['gpu'] = dict((k, v) for k, v in gpu.items() if k != 'series')
            record['gpu_series'] = [(s['t'], s['util_pct']) for s in gpu.get('series') or [] if s.get('util_pct') is not None]
        metrics = run.get('server_metrics') or {}
        if metrics.get('after'):
            record['server_metrics'] = metrics_delta(metrics.get('before'), metrics.get('after'))
        throughput = results.get('output_throughput_tok_s')
        if price_per_hour and throughput:
            record['cost_per_million_output_tokens'] = round(float(price_per_hour) / (throughput * 3600.0) * 1e6, 4)
        idle = (gpu or {}).get('idle_fraction')
        if price_per_hour and isinstance(idle, (int, float)):
            # Guide 004's "waste": what the node's hour costs while its GPU sits idle, at the run's idle share.
            record['idle_cost_per_hour'] = round(float(price_per_hour) * idle, 4)
        out.append(record)
    return out


def gate_misses(recs, gates):
    gates = gates or {}
    baseline = dict(((r.get('host'), r.get('scenario')), r) for r in gates.get('baseline') or [])
    misses = []
    for rec in recs or []:
        res = rec.get('results') or {}
        where = {'host': rec.get('host'), 'scenario': rec.get('scenario')}
        if rec.get('error'):
            misses.append(dict(where, gate='ran', limit='ran', value=rec['error']))
            continue
        limit = gates.get('ttft_p99_ms')
        if limit not in (None, '') and res.get('ttft_p99_ms') is not None and res['ttft_p99_ms'] > float(limit):
            misses.append(dict(where, gate='p99 TTFT (ms) <=', limit=float(limit), value=res['ttft_p99_ms']))
        limit = gates.get('failed_requests')
        if limit not in (None, '') and (res.get('failed') or 0) > int(limit):
            misses.append(dict(where, gate='failed requests <=', limit=int(limit), value=res.get('failed')))
        factor = gates.get('throughput_factor')
        base = baseline.get((rec.get('host'), rec.get('scenario'))) or next(
            (r for (h, s), r in baseline.items() if s == rec.get('scenario')), None)
        if factor not in (None, '') and base:
            want = (base.get('results') or {}).get('output_throughput_tok_s', 0) * float(factor)
            have = res.get('output_throughput_tok_s') or 0
            if have < want:
                misses.append(dict(where, gate='output tok/s >= baseline x %s' % factor, limit=round(want, 2), value=have))
    return misses


def canary_rows(new_recs, old_recs, max_drop=None, max_rise=None):
    """The canary's performance gate, per scenario and metric: the new version's output throughput must be at least
    (1 - max_drop) x the old one's, its p99 TTFT at most (1 + max_rise) x, and no more requests may fail. Several old
    records of one scenario (a saved baseline of several hosts) are averaged."""
    old = {}
    for rec in old_recs or []:
        if not rec.get('error'):
            old.setdefault(rec.get('scenario'), []).append(rec.get('results') or {})
    rows = []
    for rec in new_recs or []:
        new, olds = rec.get('results') or {}, old.get(rec.get('scenario')) or []
        where = {'scenario': rec.get('scenario')}
        if rec.get('error') or not olds:
            rows.append(dict(where, metric='ran', old=None, new=None, bound=None, ok=False,
                             why=rec.get('error') or 'the old version has no run of this scenario'))
            continue
        checks = [('failed requests', 'failed', 'max', 0.0)]
        if max_drop not in (None, ''):
            checks.append(('output tok/s', 'output_throughput_tok_s', 'min', float(max_drop)))
        if max_rise not in (None, ''):
            checks.append(('p99 TTFT ms', 'ttft_p99_ms', 'max', float(max_rise)))
        for metric, key, kind, limit in checks:
            values = [o.get(key) or 0.0 for o in olds]
            old_value = sum(values) / len(values)
            new_value = new.get(key) or 0.0
            if metric == 'failed requests':
                bound = old_value
            else:
                bound = old_value * (1.0 - limit) if kind == 'min' else old_value * (1.0 + limit)
            ok = new_value >= bound if kind == 'min' else new_value <= bound
            rows.append(dict(where, metric=metric, old=round(old_value, 2), new=round(new_value, 2), bound=round(bound, 2), ok=ok,
                             change_pct=round((new_value / old_value - 1.0) * 100, 1) if old_value else None,
                             why='' if ok else '%s %s %s %s (old %s)' % (
                                 metric, round(new_value, 2), '<' if kind == 'min' else '>', round(bound, 2), round(old_value, 2))))
    return rows


def miss_table(misses):
    lines = ['| host | scenario | gate | limit | value |', '| --- | --- | --- | --- | --- |']
    lines += ['| %s | %s | %s | %s | %s |' % (m['host'], m['scenario'], m['gate'], m['limit'], m['value']) for m in misses]
    return '\n'.join(lines)


def _flat(rec):
    res, gpu, met = rec.get('results') or {}, rec.get('gpu') or {}, rec.get('server_metrics') or {}
    row = {'host': rec.get('host'), 'scenario': rec.get('scenario')}
    row.update(rec.get('settings') or {})
    row.update(dict((k, v) for k, v in res.items() if not isinstance(v, (list, dict))))
    row.update(gpu_util_mean_pct=gpu.get('util_mean_pct'), gpu_util_peak_pct=gpu.get('util_peak_pct'),
               gpu_idle_fraction=gpu.get('idle_fraction'), gpu_mem_used_peak_mib=gpu.get('mem_used_peak_mib'),
               gpu_power_mean_w=gpu.get('power_mean_w'), metrics_generation_tokens=met.get('generation_tokens'),
               metrics_preemptions=met.get('preemptions'), cost_per_million_output_tokens=rec.get('cost_per_million_output_tokens'),
               idle_cost_per_hour=rec.get('idle_cost_per_hour'))
    return row


def to_csv(recs):
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(CSV_COLUMNS), extrasaction='ignore', lineterminator='\n')
    writer.writeheader()
    for rec in recs:
        writer.writerow(_flat(rec))
    return buf.getvalue()


def _fmt(value, digits=1):
    if value is None or value == '':
        return '-'
    if isinstance(value, float):
        return ('%.' + str(digits) + 'f') % value
    return str(value)


def comparison(recs, baseline):
    base = dict(((r.get('host'), r.get('scenario')), r) for r in baseline or [])
    rows = []
    for rec in recs:
        old = base.get((rec.get('host'), rec.get('scenario')))
        if old:
            new_t = (rec.get('results') or {}).get('output_throughput_tok_s')
            old_t = (old.get('results') or {}).get('output_throughput_tok_s')
            rows.append((rec['host'], rec['scenario'], old_t, new_t, (new_t / old_t) if new_t and old_t else None))
    return rows


# The headline numbers an operator writes down after a run (the lab guides' baseline table): end-to-end latency
# percentiles, requests per minute, and how busy the GPU was - mean utilisation and the idle share (the samples under
# gpu_sampler's idle threshold, 5 %). p95 needs 95 in vllm_bench_percentiles (it is there by default).
HEADLINE_COLUMNS = ('host', 'scenario', 'ok / failed', 'req/min', 'E2E latency p50 ms', 'E2E latency p95 ms',
                    'E2E latency p99 ms', 'GPU util mean %', 'GPU idle %', 'idle $/h', 'GPU memory peak MiB')


def headline(rec):
    """One record's headline numbers, in HEADLINE_COLUMNS' order (None where the run did not give one)."""
    res, gpu = rec.get('results') or {}, rec.get('gpu') or {}
    rps, idle = res.get('request_throughput_rps'), gpu.get('idle_fraction')
    p50 = res.get('e2el_p50_ms')
    return [rec.get('host'), rec.get('scenario'), '%s / %s' % (_fmt(res.get('completed')), _fmt(res.get('failed'))),
            round(rps * 60.0, 1) if isinstance(rps, (int, float)) else None,
            p50 if p50 is not None else res.get('e2el_median_ms'), res.get('e2el_p95_ms'), res.get('e2el_p99_ms'),
            gpu.get('util_mean_pct'), round(idle * 100.0, 1) if isinstance(idle, (int, float)) else None,
            '%.2f' % rec['idle_cost_per_hour'] if rec.get('idle_cost_per_hour') is not None else None, gpu.get('mem_used_peak_mib')]


def to_markdown(report):
    recs, misses = report['records'], report['misses']
    lines = ['# vLLM benchmark report', '', '%d host(s), %d scenario run(s), %d SLO miss(es). Generated %s.' % (
        len(report['hosts']), len(recs), len(misses), report['generated']), '']
    if misses:
        lines += ['## SLO misses', '', miss_table(misses), '']
    ran = [rec for rec in recs if not rec.get('error')]
    if ran:
        lines += ['## Headline', '', '| %s |' % ' | '.join(HEADLINE_COLUMNS),
                  '| --- | --- |' + ' ---: |' * (len(HEADLINE_COLUMNS) - 2)]
        lines += ['| %s |' % ' | '.join(_fmt(v) for v in headline(rec)) for rec in ran]
        lines += ['', 'GPU idle % is the share of GPU samples under 5 % utilisation during the run; idle $/h is that share of '
                  'vllm_bench_price_per_hour (what the node costs while its GPU waits).', '']
    lines += ['## Results', '', '| host | scenario | prompts | rate | conc. | ok | failed | out tok/s | TTFT p50 / p99 ms'
              ' | TPOT p99 ms | ITL p99 ms | GPU util mean / peak % | $/M out tok |',
              '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |']
    for rec in recs:
        r, g, s = rec.get('results') or {}, rec.get('gpu') or {}, rec.get('settings') or {}
        lines.append('| %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s | %s | %s / %s | %s |' % (
            rec['host'], rec['scenario'], _fmt(s.get('num_prompts')), _fmt(s.get('request_rate', 'inf')),
            _fmt(s.get('max_concurrency') or '-'), _fmt(r.get('completed')), _fmt(r.get('failed')),
            _fmt(r.get('output_throughput_tok_s')), _fmt(r.get('ttft_p50_ms')), _fmt(r.get('ttft_p99_ms')),
            _fmt(r.get('tpot_p99_ms')), _fmt(r.get('itl_p99_ms')), _fmt(g.get('util_mean_pct')), _fmt(g.get('util_peak_pct')),
            _fmt(rec.get('cost_per_million_output_tokens'), 2)))
    rows = comparison(recs, report.get('baseline'))
    if rows:
        lines += ['', '## Against the baseline', '', '| host | scenario | baseline out tok/s | now | ratio |',
                  '| --- | --- | ---: | ---: | ---: |']
        lines += ['| %s | %s | %s | %s | %s |' % (h, s, _fmt(o), _fmt(n), _fmt(x, 3)) for h, s, o, n, x in rows]
    unparsed = [(rec['host'], rec['scenario'], u) for rec in recs for u in (rec.get('results') or {}).get('unparsed') or []]
    if unparsed:
        lines += ['', '## Output lines not understood', ''] + ['- %s / %s: `%s`' % u for u in unparsed]
    return '\n'.join(lines) + '\n'


def to_html(report):
    recs = [r for r in report['records'] if not r.get('error')]
    hosts = report['hosts']
    labels = [r['host'] + ' ' + r['scenario'] for r in recs]
    sweep = [(h, [(r['settings'].get('max_concurrency'), (r.get('results') or {}).get('output_throughput_tok_s'))
                  for r in recs if r['host'] == h and r['settings'].get('max_concurrency')]) for h in hosts]
    charts = [svg_chart.line_chart('chart-throughput-concurrency', 'Output throughput against concurrency',
                                   'max concurrency (requests in flight)', 'output tokens/s', [(h, pts) for h, pts in sweep if pts]),
              svg_chart.bar_chart('chart-throughput-scenario', 'Output throughput per host and scenario', 'output tokens/s', labels,
                                  [('output tok/s', [(r.get('results') or {}).get('output_throughput_tok_s') for r in recs])])]
    for metric in ('ttft', 'tpot', 'itl'):
        charts.append(svg_chart.bar_chart(
            'chart-%s' % metric, '%s percentiles per host and scenario' % metric.upper(), '%s (ms)' % metric.upper(), labels,
            [(stat, [(r.get('results') or {}).get('%s_%s_ms' % (metric, stat)) for r in recs]) for stat in ('p50', 'p90', 'p99')]))
    charts.append(svg_chart.line_chart('chart-gpu-util', 'GPU utilisation during each run', 'seconds into the run', 'GPU utilisation (%)',
                                       [(r['host'] + ' ' + r['scenario'], r.get('gpu_series') or []) for r in recs]))
    columns = ('host', 'scenario', 'prompts', 'rate (req/s)', 'concurrency', 'ok', 'failed', 'out tok/s', 'TTFT p50 ms',
               'TTFT p99 ms', 'TPOT p99 ms', 'ITL p99 ms', 'GPU util %', '$ per M out tok')
    table = ['<table id="results"><thead><tr>'] + ['<th>%s</th>' % escape(c) for c in columns] + ['</tr></thead><tbody>']
    for r in report['records']:
        res, gpu, st = r.get('results') or {}, r.get('gpu') or {}, r.get('settings') or {}
        table.append('<tr>' + ''.join('<td>%s</td>' % escape(_fmt(v)) for v in (
            r['host'], r['scenario'], st.get('num_prompts'), st.get('request_rate', 'inf'), st.get('max_concurrency') or '-',
            res.get('completed'), res.get('failed', r.get('error')), res.get('output_throughput_tok_s'), res.get('ttft_p50_ms'),
            res.get('ttft_p99_ms'), res.get('tpot_p99_ms'), res.get('itl_p99_ms'), gpu.get('util_mean_pct'),
            r.get('cost_per_million_output_tokens'))) + '</tr>')
    table.append('</tbody></table>')
    rows = comparison(recs, report.get('baseline'))
    if rows:
        table += ['<h2>Against the baseline</h2><table id="baseline"><thead><tr><th>host</th><th>scenario</th>'
                  '<th>baseline out tok/s</th><th>now</th><th>ratio</th></tr></thead><tbody>']
        table += ['<tr>%s</tr>' % ''.join('<td>%s</td>' % escape(_fmt(v, 3 if i == 4 else 1)) for i, v in enumerate(row)) for row in rows]
        table.append('</tbody></table>')
    misses = ''.join('<li>%s / %s: %s %s, got %s</li>' % tuple(escape(str(m[k])) for k in ('host', 'scenario', 'gate', 'limit', 'value'))
                     for m in report['misses'])
    top = []
    if recs:
        top = ['<h2>Headline</h2><table id="headline"><thead><tr>'] + ['<th>%s</th>' % escape(c) for c in HEADLINE_COLUMNS]
        top.append('</tr></thead><tbody>')
        top += ['<tr>%s</tr>' % ''.join('<td>%s</td>' % escape(_fmt(v)) for v in headline(r)) for r in recs]
        top.append('</tbody></table><p class="note">GPU idle % is the share of GPU samples under 5 % utilisation during the run; '
                   'idle $/h is that share of vllm_bench_price_per_hour (what the node costs while its GPU waits).</p>')
    return html_page('vLLM benchmark report', [
        '<p id="summary">%d host(s), %d run(s), %d SLO miss(es). Generated %s.</p>' % (
            len(hosts), len(report['records']), len(report['misses']), escape(report['generated'])),
        ('<ul class="misses" id="misses">%s</ul>' % misses) if misses else '<p id="misses">No SLO misses.</p>',
        '\n'.join(top), '<div id="charts">', '\n'.join(charts), '</div>', '<h2>Results</h2>', '\n'.join(table)])


def html_page(title, body):
    """A whole HTML page (the reports' shared look): title, styles, the body parts."""
    return '\n'.join([
        '<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8"><title>%s</title>' % escape(title),
        '<style>body{font-family:sans-serif;margin:24px;color:#222;max-width:1500px} %s'
        ' table{border-collapse:collapse;margin:8px 0} td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}'
        ' th{background:#f4f4f4} td:first-child,td:nth-child(2){text-align:left} .misses,.fail{color:#b00} .pass{color:#070}'
        '</style></head><body>' % svg_chart.STYLE, '<h1>%s</h1>' % escape(title)] + list(body) + ['</body></html>', ''])


def build_report(hosts, hostvars, generated, baseline=None):
    recs, misses = [], []
    hosts = server_group.serving(hosts, server_group.hostvars_nodes(hosts, hostvars))  # a follower: measured at its leader
    for host in hosts:
        hv = hostvars.get(host) or {}
        host_recs = hv.get('vllm_bench_records')
        if host_recs is None:
            recs.append({'host': host, 'scenario': '-', 'error': 'not benchmarked (unreachable or failed earlier)',
                         'settings': {}, 'results': {}})
            misses.append({'host': host, 'scenario': '-', 'gate': 'ran', 'limit': 'ran', 'value': 'not benchmarked'})
            continue
        recs.extend(host_recs)
        misses.extend(hv.get('vllm_bench_misses') or [])
    return {'generated': generated, 'hosts': list(hosts), 'records': recs, 'misses': misses,
            'baseline': baseline or []}


def dumps(report):
    slim = dict(report, records=[dict((k, v) for k, v in r.items()) for r in report['records']])
    return json.dumps(slim, indent=2, sort_keys=True, default=str) + '\n'
