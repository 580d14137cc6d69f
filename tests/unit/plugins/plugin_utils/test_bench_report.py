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
