"""plugins/filter/bench.py: every filter FilterModule exports, called as roles vllm_bench and vllm_server call them.

The runs are built from real `vllm bench serve` outputs (tests/unit/fixtures/vllm_bench, parsed by module_utils/
vllm_bench_output as the vllm_bench module parses them) and registered the way a looped vllm_bench task registers
them; the scenarios are the role's defaults. The rules themselves are tested in plugin_utils/test_bench_report.py and
test_capacity.py; here: what each filter gives for such inputs, and its error messages.
"""
import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.gpu_inference.plugins.filter import bench
from ansible_collections.inferops.gpu_inference.plugins.module_utils import vllm_bench_output
from unit_support import FIXTURES, ROOT

BENCH = os.path.join(FIXTURES, 'vllm_bench')
with open(os.path.join(ROOT, 'roles', 'vllm_bench', 'defaults', 'main.yml')) as _handle:
    ROLE = yaml.safe_load(_handle)
FILTERS = bench.FilterModule().filters()  # the filters as Ansible finds them


def parsed(name):
    with open(os.path.join(BENCH, name)) as handle:
        return vllm_bench_output.parse_text(handle.read())


INF = parsed('real-random-inf.txt')  # 4 prompts all at once: 242.51 output tok/s, p99 TTFT 57.31 ms
RATED = parsed('real-rate-concurrency-goodput.txt')  # a request rate and a concurrency limit: 35.91 output tok/s

METRICS_BEFORE = ('# TYPE vllm:generation_tokens_total counter\nvllm:generation_tokens_total{model_name="m"} 1000.0\n'
                  '# TYPE vllm:request_success_total counter\nvllm:request_success_total{finished_reason="stop",model_name="m"} 7.0\n'
                  'vllm:request_success_total{finished_reason="length",model_name="m"} 3.0\n')
METRICS_AFTER = ('# TYPE vllm:generation_tokens_total counter\nvllm:generation_tokens_total{model_name="m"} 1032.0\n'
                 '# TYPE vllm:request_success_total counter\nvllm:request_success_total{finished_reason="stop",model_name="m"} 7.0\n'
                 'vllm:request_success_total{finished_reason="length",model_name="m"} 7.0\n'
                 '# TYPE vllm:kv_cache_usage_perc gauge\nvllm:kv_cache_usage_perc{model_name="m"} 0.0\n')


def registered(scenario, results, **extra):
    """One item of `register: runs` over a looped vllm_bench task."""
    run = {'item': scenario, 'changed': True, 'failed': False, 'bench': results, 'seconds': 1.4,
           'raw_json': '/var/lib/inferops/bench/%s.json' % scenario['name'], 'ansible_loop_var': 'item'}
    run.update(extra)
    return run


def scenario(name):
    return next(s for s in ROLE['vllm_bench_scenarios'] if s['name'] == name)


def records(price=0):
    runs = [registered(scenario('burst10'), INF,
                       gpu={'samples': 3, 'util_mean_pct': 81.0, 'util_peak_pct': 97.0, 'power_mean_w': 410.0,
                            'series': [{'t': 0.0, 'util_pct': 65.0}, {'t': 0.5, 'util_pct': 97.0}, {'t': 1.0, 'util_pct': None}]},
                       server_metrics={'before': METRICS_BEFORE, 'after': METRICS_AFTER}),
            registered(scenario('sustained'), RATED),
            {'item': scenario('single'), 'failed': True, 'msg': 'vllm bench serve exited 1: connection refused', 'ansible_loop_var': 'item'}]
    return bench.bench_records(runs, 'vllm-h100-1', price)


def test_every_filter_is_registered_under_its_documented_name():
    filters = bench.FilterModule().filters()
    assert sorted(filters) == ['bench_canary_rows', 'bench_gate_misses', 'bench_miss_table', 'bench_perf_gate_problems',
                               'bench_records', 'bench_scenario_problems', 'bench_sweep_problems', 'bench_sweep_scenario',
                               'capacity_problems', 'capacity_row']
    assert filters['bench_records'] is bench.bench_records and filters['capacity_row'] is bench.capacity_row
    for name in filters:
        assert name in bench.DOCUMENTATION, '%s is not described in the documentation' % name


def test_records_keep_the_scenario_settings_the_parsed_results_gpu_and_metrics():
    burst, sustained, single = records()
    assert (burst['host'], burst['scenario']) == ('vllm-h100-1', 'burst10')
    assert burst['settings'] == dict((k, scenario('burst10')[k]) for k in ('num_prompts', 'request_rate', 'input_len', 'output_len'))
    assert burst['results'] == INF and burst['results'] is not INF  # a copy: the registered run is not changed
    assert burst['raw_json'] == '/var/lib/inferops/bench/burst10.json' and burst['seconds'] == 1.4
    assert burst['gpu'] == {'samples': 3, 'util_mean_pct': 81.0, 'util_peak_pct': 97.0, 'power_mean_w': 410.0}
    assert burst['gpu_series'] == [(0.0, 65.0), (0.5, 97.0)]  # a sample without utilisation is dropped
    # /metrics: the change over the run, summed over the labels; gauges as they were after it.
    assert burst['server_metrics'] == {'requests_succeeded': 4.0, 'generation_tokens': 32.0, 'kv_cache_usage_after': 0.0}
    assert burst['server_metrics']['generation_tokens'] == INF['total_output_tokens']
    assert 'gpu' not in sustained and 'server_metrics' not in sustained and sustained['results']['output_throughput_tok_s'] == 35.91
    assert single == {'host': 'vllm-h100-1', 'scenario': 'single', 'error': 'vllm bench serve exited 1: connection refused',
                      'settings': dict((k, scenario('single')[k]) for k in ('num_prompts', 'request_rate', 'input_len', 'output_len')),
                      'results': {}}
    assert all('cost_per_million_output_tokens' not in r for r in records())  # no price, no cost


@pytest.mark.parametrize('price', [2.99, '2.99', 5])
def test_a_price_gives_the_cost_per_million_output_tokens(price):
    burst, sustained, single = records(price)
    for rec in (burst, sustained):
        tok_s = rec['results']['output_throughput_tok_s']
        # dollars per hour / output tokens per hour x a million, to 4 decimals
        assert rec['cost_per_million_output_tokens'] == pytest.approx(float(price) / (tok_s * 3600) * 1e6, abs=1e-4)
    assert burst['cost_per_million_output_tokens'] < sustained['cost_per_million_output_tokens']  # faster is cheaper
    assert 'cost_per_million_output_tokens' not in single


@pytest.mark.parametrize('runs,price,words', [
    (5, 0, "bench_records: the runs of vllm-h100-1 are not the vllm_bench module's results: 'int' object is not iterable"),
    ([registered(scenario('burst10'), INF)], 'two dollars',
     "bench_records: the runs of vllm-h100-1 are not the vllm_bench module's results: could not convert string to float"),
    ([registered(scenario('burst10'), [['completed']])], 0, 'bench_records: '),
    ([registered(scenario('burst10'), INF, gpu={'series': [{'util_pct': 50.0}]})], 0, "bench_records: a run of vllm-h100-1 lacks 't'"),
    (['x'], 0, "bench_records: the runs of vllm-h100-1 are not the vllm_bench module's results"),
])
def test_records_that_cannot_be_made_raise_a_filter_error_naming_the_filter(runs, price, words):
    with pytest.raises(AnsibleFilterError) as info:
        bench.bench_records(runs, 'vllm-h100-1', price)
    assert str(info.value).startswith(words)


def test_no_runs_make_no_records():
    assert bench.bench_records([], 'n') == [] and bench.bench_records(None, 'n') == []


def test_gate_misses_of_the_real_results():
    recs = records()
    ttft = INF['ttft_p99_ms']
    misses = FILTERS['bench_gate_misses'](recs, {'ttft_p99_ms': ttft - 1, 'failed_requests': 0})
    assert misses == [
        {'host': 'vllm-h100-1', 'scenario': 'burst10', 'gate': 'p99 TTFT (ms) <=', 'limit': ttft - 1, 'value': ttft},
        {'host': 'vllm-h100-1', 'scenario': 'single', 'gate': 'ran', 'limit': 'ran', 'value': 'vllm bench serve exited 1: connection refused'},
    ]
    # The gates as the role passes them: templated strings, null for a skipped gate.
    assert FILTERS['bench_gate_misses'](recs[:2], {'ttft_p99_ms': str(ttft), 'failed_requests': '0', 'throughput_factor': None}) == []
    assert FILTERS['bench_gate_misses'](recs[:2], {}) == [] and FILTERS['bench_gate_misses']([], None) == []


def test_a_failed_request_and_a_slower_run_than_the_baseline_miss():
    failing = bench.bench_records([registered(scenario('burst10'), dict(INF, completed=3, failed=1))], 'vllm-h100-1')
    assert FILTERS['bench_gate_misses'](failing, {'failed_requests': 0}) == [
        {'host': 'vllm-h100-1', 'scenario': 'burst10', 'gate': 'failed requests <=', 'limit': 0, 'value': 1}]
    baseline = bench.bench_records([registered(scenario('burst10'), dict(INF, output_throughput_tok_s=300.0))], 'other-host')
    misses = FILTERS['bench_gate_misses'](records()[:1], {'throughput_factor': '0.9', 'baseline': baseline})
    # no baseline of this host: the scenario's run on another host is the baseline
    assert misses == [{'host': 'vllm-h100-1', 'scenario': 'burst10', 'gate': 'output tok/s >= baseline x 0.9', 'limit': 270.0,
                       'value': INF['output_throughput_tok_s']}]
    assert FILTERS['bench_gate_misses'](records()[:1], {'throughput_factor': '0.8', 'baseline': baseline}) == []


def test_the_miss_table_has_a_row_per_miss():
    misses = FILTERS['bench_gate_misses'](records(), {'ttft_p99_ms': 10, 'failed_requests': 0})
    table = FILTERS['bench_miss_table'](misses).split('\n')
    assert table[:2] == ['| host | scenario | gate | limit | value |', '| --- | --- | --- | --- | --- |']
    assert table[2:] == ['| vllm-h100-1 | burst10 | p99 TTFT (ms) <= | 10.0 | %s |' % INF['ttft_p99_ms'],
                         '| vllm-h100-1 | sustained | p99 TTFT (ms) <= | 10.0 | %s |' % RATED['ttft_p99_ms'],
                         '| vllm-h100-1 | single | ran | ran | vllm bench serve exited 1: connection refused |']
    assert FILTERS['bench_miss_table']([]).count('\n') == 1


def test_the_role_default_scenarios_and_sweep_pass():
    assert FILTERS['bench_scenario_problems'](ROLE['vllm_bench_scenarios']) == []
    assert FILTERS['bench_sweep_problems'](ROLE['vllm_bench_concurrency_sweep']) == []
    assert FILTERS['bench_sweep_problems']([1, 5, 10, 20]) == [] and FILTERS['bench_sweep_problems'](['2', 4.0]) == []


@pytest.mark.parametrize('item,words', [
    ({'name': 'bad name', 'num_prompts': 1}, 'vllm_bench_scenarios[3].name="bad name" must be 1 to 64 letters, digits, - or _'),
    ({'name': 'burst10', 'num_prompts': 1}, 'vllm_bench_scenarios[3].name=burst10 is used twice'),
    ({'name': 'x', 'num_prompts': 0}, 'vllm_bench_scenarios[3].num_prompts=0 must be a whole number of 1 or more'),
    ({'name': 'x'}, 'vllm_bench_scenarios[3].num_prompts is missing'),
    ({'name': 'x', 'num_prompts': 1, 'request_rate': 'fast'}, 'vllm_bench_scenarios[3].request_rate=fast must be a positive number or inf'),
    ({'name': 'x', 'num_prompts': 1, 'request_rate': 0}, 'vllm_bench_scenarios[3].request_rate=0 must be a positive number or inf'),
    ({'name': 'x', 'num_prompts': 1, 'burstiness': -1}, 'vllm_bench_scenarios[3].burstiness=-1 must be a positive number'),
    ({'name': 'x', 'num_prompts': 1, 'dataset_name': 'sharegpt'}, 'vllm_bench_scenarios[3].dataset_name=sharegpt needs dataset_path'),
    ({'name': 'x', 'num_prompts': 1, 'dataset_name': 'sonnet'}, 'vllm_bench_scenarios[3].dataset_name=sonnet must be random or sharegpt'),
    ({'name': 'x', 'num_prompts': 1, 'dataset_path': 'data.json'}, 'vllm_bench_scenarios[3].dataset_path="data.json" must be an absolute path'),
    ({'name': 'x', 'num_prompts': 1, 'prompts': 3}, 'vllm_bench_scenarios[3] has unknown key(s) prompts; allowed: name, num_prompts'),
])
def test_a_bad_scenario_after_the_defaults_is_named_by_its_index(item, words):
    problems = FILTERS['bench_scenario_problems'](ROLE['vllm_bench_scenarios'] + [item])
    assert len(problems) == 1 and problems[0].startswith(words), problems


def test_scenarios_that_are_not_a_list_of_dictionaries():
    assert FILTERS['bench_scenario_problems']({'name': 'single'}) == ['vllm_bench_scenarios must be a list of scenarios (dictionaries)']
    assert FILTERS['bench_scenario_problems'](['single']) == ['vllm_bench_scenarios[0] must be a dictionary']


def test_bad_sweep_levels_are_named_by_their_index():
    assert FILTERS['bench_sweep_problems']([1, 0, 'many', 2.5, True]) == [
        'vllm_bench_concurrency_sweep[%d]=%s must be a whole number of 1 or more (concurrent requests)' % (i, v)
        for i, v in ((1, 0), (2, 'many'), (3, 2.5), (4, True))]
    assert FILTERS['bench_sweep_problems']([4, '4']) == ["vllm_bench_concurrency_sweep=[4, '4'] lists a level twice"]
    assert FILTERS['bench_sweep_problems']('1,2') == ['vllm_bench_concurrency_sweep=1,2 must be a list of concurrency levels of 1 or more']


def test_a_sweep_scenario_is_a_scenario_the_checks_accept():
    level = FILTERS['bench_sweep_scenario'](8, ROLE['vllm_bench_sweep_prompts_per_level'], ROLE['vllm_bench_sweep_input_len'],
                                            ROLE['vllm_bench_sweep_output_len'])
    assert level == {'name': 'concurrency-8', 'num_prompts': 8 * ROLE['vllm_bench_sweep_prompts_per_level'], 'max_concurrency': 8,
                     'request_rate': 'inf', 'input_len': ROLE['vllm_bench_sweep_input_len'], 'output_len': ROLE['vllm_bench_sweep_output_len']}
    assert FILTERS['bench_scenario_problems'](ROLE['vllm_bench_scenarios'] + [level]) == []


def test_canary_rows_of_a_new_version_against_the_old_one():
    old = bench.bench_records([registered(scenario('burst10'), INF)], 'vllm-h100-1')
    faster = bench.bench_records([registered(scenario('burst10'), dict(INF, output_throughput_tok_s=250.0, ttft_p99_ms=50.0))], 'vllm-h100-1')
    rows = FILTERS['bench_canary_rows'](faster, old, 0.1, 0.2)
    assert [(r['scenario'], r['metric'], r['ok']) for r in rows] == [
        ('burst10', 'failed requests', True), ('burst10', 'output tok/s', True), ('burst10', 'p99 TTFT ms', True)]
    slower = bench.bench_records([registered(scenario('burst10'), RATED)], 'vllm-h100-1')
    by = dict((r['metric'], r) for r in FILTERS['bench_canary_rows'](slower, old, '0.1', '0.2'))  # as templated from the gate
    assert not by['output tok/s']['ok'] and by['output tok/s']['bound'] == round(INF['output_throughput_tok_s'] * 0.9, 2)
    assert by['output tok/s']['why'] == 'output tok/s %s < %s (old %s)' % (
        RATED['output_throughput_tok_s'], round(INF['output_throughput_tok_s'] * 0.9, 2), INF['output_throughput_tok_s'])
    assert by['p99 TTFT ms']['ok'] is (RATED['ttft_p99_ms'] <= INF['ttft_p99_ms'] * 1.2)
    # A run the new version could not make fails the gate with its error.
    broken = FILTERS['bench_canary_rows'](records()[2:], old, 0.1, None)
    assert broken == [{'scenario': 'single', 'metric': 'ran', 'old': None, 'new': None, 'bound': None, 'ok': False,
                       'why': 'vllm bench serve exited 1: connection refused'}]


def test_a_performance_gate_of_role_scenarios_and_old_records_passes():
    gate = {'scenarios': ROLE['vllm_bench_scenarios'][:2], 'reference': records(), 'against': 'vllm-h100-1 (v0.31.0)',
            'max_throughput_drop': 0.1, 'max_ttft_rise': 0.25}
    assert FILTERS['bench_perf_gate_problems'](gate) == []
    assert FILTERS['bench_perf_gate_problems']({}) == [] and FILTERS['bench_perf_gate_problems'](None) == []
    assert FILTERS['bench_perf_gate_problems'](dict(gate, max_ttft_rise=None)) == []


@pytest.mark.parametrize('changes,words', [
    ({'scenarios': []}, 'vllm_server_perf_gate.scenarios is empty: the gate needs scenarios to run on the new server'),
    ({'scenarios': [{'name': 'a b', 'num_prompts': 1}]}, 'vllm_server_perf_gate.scenarios[0].name="a b" must be 1 to 64 letters'),
    ({'reference': 'results.json'}, 'vllm_server_perf_gate.reference must be the old version\'s benchmark records (a list), not "results.json"'),
    ({'max_throughput_drop': 1.5}, 'vllm_server_perf_gate.max_throughput_drop=1.5 must be a fraction from 0 to below 1 (0.1: 10%)'),
    ({'max_ttft_rise': -0.1}, 'vllm_server_perf_gate.max_ttft_rise=-0.1 must be a fraction of 0 or more (0.2: 20%)'),
    ({'max_throughput_drop': None, 'max_ttft_rise': ''}, 'vllm_server_perf_gate needs max_throughput_drop or max_ttft_rise (or both)'),
    ({'rollback': True}, 'vllm_server_perf_gate has unknown key(s) rollback; allowed: scenarios, reference, against'),
])
def test_each_problem_of_a_performance_gate_names_the_setting(changes, words):
    gate = {'scenarios': ROLE['vllm_bench_scenarios'][:1], 'reference': [], 'max_throughput_drop': 0.1}
    gate.update(changes)
    problems = FILTERS['bench_perf_gate_problems'](gate)
    assert len(problems) == 1 and problems[0].startswith(words), problems


def test_a_gate_that_is_not_a_dictionary():
    assert FILTERS['bench_perf_gate_problems'](['x']) == [
        'vllm_server_perf_gate=["x"] must be a dictionary (scenarios, reference, max_throughput_drop, max_ttft_rise) or {} for no gate']


def test_the_capacity_row_of_a_search():
    search = {'capacity': 4.49, 'runs': 6, 'stopped': 'within precision', 'next_step': {'x': 4.93, 'ok': False},
              'capacity_step': {'x': 4.49, 'ok': True, 'results': RATED, 'gpu': {'power_mean_w': 300.0}}}
    row = bench.capacity_row(search, 'vllm-h100-1', '2.99', 'gpu_H100_SXM')
    assert (row['host'], row['type'], row['capacity'], row['runs'], row['stopped'], row['next_miss']) == (
        'vllm-h100-1', 'gpu_H100_SXM', 4.49, 6, 'within precision', 4.93)
    assert (row['output_tok_s'], row['request_rps'], row['ttft_p99_ms'], row['tpot_p99_ms']) == (
        RATED['output_throughput_tok_s'], RATED['request_throughput_rps'], RATED['ttft_p99_ms'], RATED['tpot_p99_ms'])
    assert row['price_per_hour'] == 2.99
    assert row['cost_per_million_output_tokens'] == pytest.approx(2.99 / (RATED['output_throughput_tok_s'] * 3600) * 1e6, abs=1e-4)
    assert row['joules_per_output_token'] == pytest.approx(300.0 * RATED['duration_s'] / RATED['total_output_tokens'], abs=1e-4)


def test_a_search_that_found_no_capacity_has_no_cost():
    row = bench.capacity_row({'capacity': None, 'capacity_step': None, 'next_step': {'x': 0.5}, 'runs': 2,
                              'stopped': 'misses at the range bottom'}, 'n1', 2.99)
    assert row['capacity'] is None and row['next_miss'] == 0.5 and row['stopped'] == 'misses at the range bottom'
    assert row['output_tok_s'] is None and row['cost_per_million_output_tokens'] is None and row['joules_per_output_token'] is None
    assert bench.capacity_row({}, 'n1')['price_per_hour'] == 0.0


def test_the_role_capacity_defaults_pass_and_a_bad_one_names_its_variable():
    settings = dict((k, v) for k, v in ROLE.items() if k.startswith('vllm_bench_capacity_'))
    assert bench.capacity_problems(settings) == []
    assert bench.capacity_problems(dict(settings, vllm_bench_capacity_precision=1.5)) == [
        'vllm_bench_capacity_precision=1.5 must be above 0 and below 1 (0.1: within 10%)']
    with pytest.raises(AnsibleFilterError, match='capacity_problems: expects a dict of vllm_bench_capacity_\\* settings, got list'):
        bench.capacity_problems([settings])
