"""bench_report: the canary's performance gate rows (new against old, per scenario and metric)."""
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import bench_report


def rec(scenario, tok_s, ttft, failed=0, host='n'):
    return {'host': host, 'scenario': scenario, 'results': {'output_throughput_tok_s': tok_s, 'ttft_p99_ms': ttft, 'failed': failed}}


def test_a_slower_canary_misses_both_metrics():
    rows = bench_report.canary_rows([rec('c8', 230.0, 1400.0)], [rec('c8', 1000.0, 100.0)], 0.5, 2.0)
    by = dict((r['metric'], r) for r in rows)
    assert by['output tok/s']['bound'] == 500.0 and not by['output tok/s']['ok']
    assert by['p99 TTFT ms']['bound'] == 300.0 and not by['p99 TTFT ms']['ok']
    assert by['failed requests']['ok'] and by['output tok/s']['change_pct'] == -77.0
    assert 'output tok/s 230.0 < 500.0 (old 1000.0)' == by['output tok/s']['why']


def test_within_the_allowed_drop_and_rise_passes():
    rows = bench_report.canary_rows([rec('c8', 910.0, 115.0)], [rec('c8', 1000.0, 100.0)], 0.1, 0.2)
    assert [r['ok'] for r in rows] == [True, True, True]


def test_a_skipped_limit_is_not_checked_and_failed_requests_always_are():
    rows = bench_report.canary_rows([rec('c8', 10.0, 9999.0, failed=2)], [rec('c8', 1000.0, 100.0)], None, None)
    assert [(r['metric'], r['ok']) for r in rows] == [('failed requests', False)]


def test_a_baseline_of_several_hosts_is_averaged_and_a_missing_scenario_misses():
    old = [rec('c8', 1000.0, 100.0, host='a'), rec('c8', 600.0, 140.0, host='b')]
    rows = bench_report.canary_rows([rec('c8', 700.0, 130.0), rec('other', 1.0, 1.0)], old, 0.2, 0.2)
    assert [r for r in rows if r['metric'] == 'output tok/s'][0]['old'] == 800.0
    assert rows[-1] == {'scenario': 'other', 'metric': 'ran', 'old': None, 'new': None, 'bound': None, 'ok': False,
                        'why': 'the old version has no run of this scenario'}


METRICS_BEFORE = '# TYPE vllm:generation_tokens_total counter\nvllm:generation_tokens_total{model_name="m"} 100.0\n' \
                 '# TYPE vllm:num_preemptions_total counter\nvllm:num_preemptions_total{model_name="m"} 1.0\n'
METRICS_AFTER = '# TYPE vllm:generation_tokens_total counter\nvllm:generation_tokens_total{model_name="m"} 420.0\n' \
                '# TYPE vllm:num_preemptions_total counter\nvllm:num_preemptions_total{model_name="m"} 3.0\n' \
                '# TYPE vllm:kv_cache_usage_perc gauge\nvllm:kv_cache_usage_perc{model_name="m"} 0.25\n'


def run(name, tok_s=500.0, ttft=200.0, failed=0, **item):
    return {'item': dict(name=name, num_prompts=10, request_rate='inf', **item), 'seconds': 3.2, 'raw_json': '/r/%s.json' % name,
            'bench': {'completed': 10 - failed, 'failed': failed, 'output_throughput_tok_s': tok_s, 'ttft_p99_ms': ttft},
            'gpu': {'samples': 4, 'util_mean_pct': 70.0, 'series': [{'t': 0.0, 'util_pct': 60.0}, {'t': 0.5, 'util_pct': None}]},
            'server_metrics': {'before': METRICS_BEFORE, 'after': METRICS_AFTER}}


def test_records_keep_settings_results_gpu_metrics_deltas_and_cost():
    recs = bench_report.records([run('burst', max_concurrency=4, ignored='x'), {'item': {'name': 'broken'}, 'failed': True, 'msg': 'boom'}],
                                'n1', price_per_hour=3.6)
    ok, broken = recs
    assert ok['settings'] == {'num_prompts': 10, 'request_rate': 'inf', 'max_concurrency': 4}
    assert ok['gpu'] == {'samples': 4, 'util_mean_pct': 70.0} and ok['gpu_series'] == [(0.0, 60.0)]
    assert ok['server_metrics']['generation_tokens'] == 320.0 and ok['server_metrics']['preemptions'] == 2.0
    assert ok['server_metrics']['kv_cache_usage_after'] == 0.25
    assert ok['cost_per_million_output_tokens'] == 2.0  # 3.6 $/h / (500 tok/s x 3600 s) x 1e6
    assert broken == {'host': 'n1', 'scenario': 'broken', 'error': 'boom', 'settings': {}, 'results': {}}


def test_gate_misses_name_the_gate_the_limit_and_the_value():
    recs = bench_report.records([run('a', tok_s=400.0, ttft=900.0, failed=1), run('b')], 'n1')
    baseline = bench_report.records([run('a', tok_s=1000.0), run('b', tok_s=500.0)], 'n1')
    misses = bench_report.gate_misses(recs, {'ttft_p99_ms': 500, 'failed_requests': 0, 'throughput_factor': 0.9, 'baseline': baseline})
    assert [(m['scenario'], m['gate'], m['limit'], m['value']) for m in misses] == [
        ('a', 'p99 TTFT (ms) <=', 500.0, 900.0), ('a', 'failed requests <=', 0, 1), ('a', 'output tok/s >= baseline x 0.9', 900.0, 400.0)]
    assert bench_report.gate_misses(recs, {'ttft_p99_ms': None, 'failed_requests': None}) == []
    table = bench_report.miss_table(misses)
    assert table.splitlines()[0] == '| host | scenario | gate | limit | value |' and '| n1 | a | p99 TTFT (ms) <= | 500.0 | 900.0 |' in table


def test_scenario_and_sweep_problems_name_the_item_the_value_and_what_is_allowed():
    bad = {'name': 'x y', 'num_prompts': 0, 'request_rate': -1, 'colour': 'red'}
    problems = bench_report.scenario_problems([{'name': 'ok', 'num_prompts': 1}, bad, {'name': 'ok', 'num_prompts': 2}])
    assert 'vllm_bench_scenarios[1] has unknown key(s) colour' in problems[0]
    assert any('vllm_bench_scenarios[1].name="x y" must be 1 to 64 letters' in p for p in problems)
    assert 'vllm_bench_scenarios[1].num_prompts=0 must be a whole number of 1 or more' in problems
    assert 'vllm_bench_scenarios[1].request_rate=-1 must be a positive number or inf' in problems
    assert 'vllm_bench_scenarios[2].name=ok is used twice' in problems
    assert bench_report.scenario_problems('nope') == ['vllm_bench_scenarios must be a list of scenarios (dictionaries)']
    assert bench_report.sweep_problems([1, 0, 1]) == [
        'vllm_bench_concurrency_sweep[1]=0 must be a whole number of 1 or more (concurrent requests)',
        'vllm_bench_concurrency_sweep=[1, 0, 1] lists a level twice']
    assert bench_report.sweep_scenario(4, 2, 64, 16) == {'name': 'concurrency-4', 'num_prompts': 8, 'max_concurrency': 4,
                                                         'request_rate': 'inf', 'input_len': 64, 'output_len': 16}


def test_csv_markdown_and_html_hold_every_record():
    recs = bench_report.records([run('a'), run('b', tok_s=250.0)], 'n1', 1.0)
    report = {'generated': 'now', 'hosts': ['n1'], 'records': recs, 'misses': [], 'baseline': recs[:1]}
    lines = bench_report.to_csv(recs).splitlines()
    assert lines[0].split(',') == list(bench_report.CSV_COLUMNS) and len(lines) == 3 and lines[2].startswith('n1,b,10,inf')
    md = bench_report.to_markdown(report)
    assert '| n1 | b | 10 | inf | - | 10 | 0 | 250.0 |' in md and '## Against the baseline' in md
    html = bench_report.to_html(report)
    assert html.count('<svg ') == 3 and html.count('class="empty"') == 3  # no sweep, TPOT or ITL data: said, not drawn
    assert 'id="baseline"' in html and '<pre>' not in html  # no raw Markdown dump


def test_the_headline_gives_e2e_p50_p95_p99_requests_per_minute_and_gpu_idle_in_summary_and_html():
    """The lab guide's baseline numbers (latency p50 / p95, req/min, GPU utilisation and idle time) are in summary.md and
    report.html, not only in results.json."""
    ran = run('load-c5', max_concurrency=5)
    ran['bench'].update(request_throughput_rps=1.18, e2el_p50_ms=831.0, e2el_p95_ms=1021.0, e2el_p99_ms=1234.0)
    ran['gpu'].update(idle_fraction=0.812, mem_used_peak_mib=7100)
    older = run('no-p95')
    older['bench'].update(e2el_median_ms=500.0)  # percentiles without 50 and 95: the median stands for p50, p95 is '-'
    older['gpu'].pop('idle_fraction', None)
    recs = bench_report.records([ran, older, {'item': {'name': 'broken'}, 'failed': True, 'msg': 'boom'}], 'n1', price_per_hour=3.0)
    report = {'generated': 'now', 'hosts': ['n1'], 'records': recs, 'misses': [], 'baseline': []}
    # Guide 004's waste: 81.2 % idle of a $3.00 hour
    assert recs[0]['idle_cost_per_hour'] == 2.436 and 'idle_cost_per_hour' not in recs[1]
    assert bench_report.headline(recs[0]) == ['n1', 'load-c5', '10 / 0', 70.8, 831.0, 1021.0, 1234.0, 70.0, 81.2, '2.44', 7100]
    md = bench_report.to_markdown(report)
    head = md.split('## Headline')[1].split('## Results')[0]
    assert '| host | scenario | ok / failed | req/min | E2E latency p50 ms | E2E latency p95 ms | E2E latency p99 ms |' in head
    assert '| n1 | load-c5 | 10 / 0 | 70.8 | 831.0 | 1021.0 | 1234.0 | 70.0 | 81.2 | 2.44 | 7100 |' in head
    assert '| n1 | no-p95 | 10 / 0 | - | 500.0 | - | - | 70.0 | - | - | - |' in head and 'broken' not in head
    html = bench_report.to_html(report)
    table = html.split('<table id="headline">')[1].split('</table>')[0]
    assert '<th>E2E latency p95 ms</th>' in table and '<th>GPU idle %</th>' in table and '<th>idle $/h</th>' in table
    assert '<td>2.44</td>' in table and '<td>1021.0</td>' in table and '<td>81.2</td>' in table and '<td>70.8</td>' in table
    row = bench_report.to_csv(recs[:1]).splitlines()[1].split(',')
    assert row[bench_report.CSV_COLUMNS.index('e2el_p95_ms')] == '1021.0'
    assert row[bench_report.CSV_COLUMNS.index('idle_cost_per_hour')] == '2.436'


def test_a_follower_of_a_server_across_nodes_is_measured_at_its_leader_and_left_out():
    group = ['lead', 'follow']
    hostvars = {'lead': {'vllm_server_nodes': group, 'vllm_bench_records': [], 'vllm_bench_misses': []},
                'follow': {'vllm_server_nodes': group}, 'alone': {}}
    report = bench_report.build_report(['lead', 'follow', 'alone'], hostvars, 'now')
    assert report['hosts'] == ['lead', 'alone']
    assert [m['host'] for m in report['misses']] == ['alone']  # not benchmarked: it failed earlier; the follower did not
