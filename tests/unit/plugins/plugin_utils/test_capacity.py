"""capacity: the bracket-then-bisect search, against a model of a server whose p99 TTFT climbs with the rate."""
import pytest

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import capacity

SLO = {'ttft_p99_ms': 500.0, 'tpot_p99_ms': None}


class Server:
    """p99 TTFT 100 ms up to the knee, then steeply up (a queue builds); saturation throughput `sat` req/s."""

    def __init__(self, knee, sat=None, fail_above=None):
        self.knee, self.sat, self.fail_above, self.calls = knee, sat or knee * 1.5, fail_above, []

    def __call__(self, x):
        self.calls.append(x)
        rate = self.sat if x == 'inf' else float(x)
        ttft = 100.0 if rate <= self.knee else 100.0 + (rate - self.knee) * 1000.0
        failed = 5 if self.fail_above and rate > self.fail_above else 0
        return {'results': {'completed': 100 - failed, 'failed': failed, 'ttft_p99_ms': ttft, 'request_throughput_rps': min(rate, self.sat),
                            'output_throughput_tok_s': min(rate, self.sat) * 100, 'duration_s': 10.0, 'total_output_tokens': 10000},
                'gpu': {'power_mean_w': 300.0}, 'seconds': 10.0}


def true_capacity(server):
    return server.knee + 0.4  # ttft crosses 500 ms 0.4 req/s above the knee


@pytest.mark.parametrize('knee', [0.7, 3.0, 9.5, 22.0, 40.0])
def test_rate_search_brackets_the_capacity_within_the_precision(knee):
    server = Server(knee)
    found = capacity.find_capacity(server, SLO, low=0.5, high=64, precision=0.1)
    assert found['stopped'] == 'within precision'
    ok_x, miss_x = found['capacity'], found['next_step']['x']
    assert ok_x <= true_capacity(server) < miss_x <= ok_x * 1.1 + 1e-6
    assert found['steps'][0]['x'] == 'inf' and found['steps'][0]['role'] == 'saturation'
    assert found['runs'] == len(server.calls) <= 8


def test_every_step_is_judged_and_the_capacity_step_passes():
    found = capacity.find_capacity(Server(10.0), SLO, low=0.5, high=64, precision=0.1)
    assert found['capacity_step']['ok'] and found['capacity_step']['why'] == []
    assert not found['next_step']['ok'] and 'p99 TTFT' in found['next_step']['why'][0]


def test_the_range_top_passing_ends_the_search():
    found = capacity.find_capacity(Server(100.0, sat=30.0), SLO, low=0.5, high=50, precision=0.1)
    assert found['capacity'] == 50 and found['next_step'] is None and found['stopped'] == 'the range top passes'


def test_a_miss_at_the_range_bottom_reports_no_capacity():
    found = capacity.find_capacity(Server(0.1, sat=0.2), SLO, low=1, high=64, precision=0.1)
    assert found['capacity'] is None and found['stopped'] == 'misses at the range bottom'


def test_failed_requests_are_a_miss_and_stop_the_search_going_higher():
    server = Server(40.0, fail_above=12.0)
    found = capacity.find_capacity(server, SLO, low=0.5, high=64, precision=0.1)
    assert 11.0 <= found['capacity'] <= 12.0
    assert server.calls[1] == 0.5  # the probe's failures give no bound: the bracket starts at low
    assert 'failed request' in found['next_step']['why'][0]


def test_a_saturation_probe_with_no_answer_stops_at_once():
    def broken(x):
        return {'results': {'completed': 0, 'failed': 100}}
    found = capacity.find_capacity(broken, SLO, low=0.5, high=64)
    assert found['runs'] == 1 and found['capacity'] is None and 'saturation probe' in found['stopped']


def test_concurrency_mode_doubles_from_low_in_whole_numbers():
    server = Server(13.0)
    found = capacity.find_capacity(server, SLO, mode='concurrency', low=1, high=256, precision=0.1)
    assert server.calls[:5] == [1, 2, 4, 8, 16]
    assert found['capacity'] == 13 and found['next_step']['x'] == 14


def test_max_runs_bounds_the_search():
    found = capacity.find_capacity(Server(22.0), SLO, low=0.5, high=64, precision=0.001, max_runs=5)
    assert found['runs'] == 5 and found['stopped'] == 'run limit (max_runs) reached'


def test_the_search_takes_fewer_runs_than_a_linear_scan_at_the_same_precision():
    server = Server(22.0)
    found = capacity.find_capacity(server, SLO, low=0.5, high=64, precision=0.1)
    scan = capacity.linear_scan(Server(22.0), SLO, 0.5, 0.1 * found['capacity'], 64)
    assert scan['capacity'] <= true_capacity(server)
    assert found['runs'] < scan['runs']


def test_node_summary_prices_the_capacity_and_counts_joules():
    found = capacity.find_capacity(Server(10.0), SLO, low=0.5, high=64, precision=0.1)
    row = capacity.node_summary('n1', found, price_per_hour=3.6, node_type='size_gpu_h100x1_80gb')
    tok_s = found['capacity_step']['results']['output_throughput_tok_s']
    assert row['cost_per_million_output_tokens'] == pytest.approx(3.6 / (tok_s * 3600) * 1e6, rel=1e-3)
    assert row['joules_per_output_token'] == pytest.approx(300.0 * 10.0 / 10000, rel=1e-3)
    types = capacity.type_summary([row, dict(row, host='n2', capacity=row['capacity'] / 2)])
    assert types[0]['nodes'] == 2 and types[0]['capacity_min'] == row['capacity'] / 2


def test_the_report_marks_the_capacity_and_draws_the_slo():
    found = dict(capacity.find_capacity(Server(10.0), SLO, low=0.5, high=64), slo=SLO, mode='rate')
    found['row'] = capacity.node_summary('n1', found, 2.0, 'gpu_H100')
    report = capacity.build_report(['n1', 'n2'], {'n1': {'vllm_bench_capacity': found}}, '2026-11-24T00:00:00+00:00')
    assert [r['host'] for r in report['nodes']] == ['n1', 'n2'] and report['nodes'][1]['capacity'] is None
    html = capacity.to_html(report)
    assert 'id="chart-capacity-ttft"' in html and 'SLO 500 ms' in html and 'class="mark"' in html
    assert '| n1 | gpu_H100 |' in capacity.to_markdown(report)


class Counted:
    """A measure that always passes (or always misses) with the given p99 TTFT, counting its calls."""

    def __init__(self, ok):
        self.ok, self.calls = ok, []

    def __call__(self, x):
        self.calls.append(x)
        return {'results': {'completed': 10, 'failed': 0, 'ttft_p99_ms': 100.0 if self.ok else 900.0}, 'seconds': 1.0}


@pytest.mark.parametrize('ok', [True, False])
@pytest.mark.parametrize('high', [1, 2, 64, 10 ** 9])
def test_concurrency_search_from_one_ends_within_max_runs(ok, high):
    measure = Counted(ok)
    found = capacity.find_capacity(measure, SLO, mode='concurrency', low=1, high=high, precision=0.1, max_runs=6)
    assert len(measure.calls) <= 6 and found['runs'] == len(measure.calls)
    assert found['capacity'] == (min(high, 32) if ok else None)
    assert all(isinstance(x, int) and x >= 1 for x in measure.calls)


@pytest.mark.parametrize('ok', [True, False])
def test_rate_search_ends_within_max_runs(ok):
    measure = Counted(ok)
    capacity.find_capacity(measure, SLO, low=0.5, high=10 ** 9, precision=0.001, max_runs=7)
    assert len(measure.calls) <= 7


def test_repeated_steps_count_toward_max_runs(monkeypatch):
    """The old infinite loop: a step that rounds to one already measured (concurrency 0.5 -> 0, doubled: 0 again) came
    from the cache without counting. The settings check refuses such bounds now; with it bypassed, the search still ends."""
    monkeypatch.setattr(capacity, '_problems', lambda *a, **k: [])
    measure = Counted(True)
    found = capacity.find_capacity(measure, SLO, mode='concurrency', low=0.5, high=64, max_runs=5)
    assert measure.calls == [0] and found['stopped'] == 'run limit (max_runs) reached'
    # Halving onto cached steps: a server that passes only at the level it was first asked for.
    seen = []

    def flaky(x):
        seen.append(x)
        return {'results': {'completed': 10, 'failed': 0, 'ttft_p99_ms': 100.0 if len(seen) == 1 else 900.0}}
    capacity.find_capacity(flaky, SLO, mode='concurrency', low=0.4, high=0.6, max_runs=4)
    assert len(seen) <= 4


def test_find_capacity_refuses_bad_settings_before_measuring():
    measure = Counted(True)
    with pytest.raises(ValueError, match=r'low=0\.5 must be a whole number of 1 or more in concurrency mode'):
        capacity.find_capacity(measure, SLO, mode='concurrency', low=0.5, high=64)
    with pytest.raises(ValueError, match='both null'):
        capacity.find_capacity(measure, {}, low=1, high=64)
    with pytest.raises(ValueError, match='must be rate or concurrency'):
        capacity.find_capacity(measure, SLO, mode='speed')
    assert measure.calls == []


GOOD = dict(mode='rate', low=0.5, high=64.0, precision=0.1, max_runs=12, num_prompts=100, ttft_p99_ms=1000, tpot_p99_ms=100,
            input_len=1000, output_len=100)


def problems(**changes):
    return capacity.settings_problems(**dict(GOOD, **changes))


@pytest.mark.parametrize('changes', [
    {}, dict(mode='concurrency', low=1), dict(mode='concurrency', low=64.0, high=64.0), dict(mode='concurrency', low='2', high='8'),
    dict(tpot_p99_ms=None), dict(ttft_p99_ms=None), dict(input_len=None, output_len=None), dict(low='0.5', high='64'),
    dict(low=0.001, high=0.001), dict(precision=0.999), dict(max_runs=2, num_prompts=1, input_len=1, output_len=1)])
def test_good_settings_have_no_problems(changes):
    assert problems(**changes) == []


@pytest.mark.parametrize('changes,expected', [
    (dict(mode='speed'), ['mode="speed" must be rate or concurrency']),
    (dict(ttft_p99_ms=None, tpot_p99_ms=None), ['ttft_p99_ms and tpot_p99_ms are both null: give the SLO the capacity is measured at']),
    (dict(ttft_p99_ms=-5), ['ttft_p99_ms=-5 must be milliseconds above 0 (or null: no such SLO)']),
    (dict(tpot_p99_ms=0), ['tpot_p99_ms=0 must be milliseconds above 0 (or null: no such SLO)']),
    (dict(ttft_p99_ms='fast'), ['ttft_p99_ms="fast" must be milliseconds above 0 (or null: no such SLO)']),
    (dict(low=0), ['low=0 and high=64.0 must satisfy 0 < low <= high']),
    (dict(low=10, high=5), ['low=10 and high=5 must satisfy 0 < low <= high']),
    (dict(low='lots'), ['low="lots" must be a number above 0']),
    (dict(high=None), ['high=null must be a number above 0']),
    (dict(low=True), ['low=true must be a number above 0']),
    (dict(high=float('inf')), ['high=Infinity must be a number above 0']),
    (dict(mode='concurrency'), ['low=0.5 must be a whole number of 1 or more in concurrency mode (a concurrency of 0 means no limit)']),
    (dict(mode='concurrency', low=1, high=7.5), ['high=7.5 must be a whole number of 1 or more in concurrency mode']),
    (dict(low=0.0004), ['low=0.0004 must be 0.001 or more in rate mode']),
    (dict(precision=1), ['precision=1 must be above 0 and below 1 (0.1: within 10%)']),
    (dict(precision=0), ['precision=0 must be above 0 and below 1']),
    (dict(precision='tight'), ['precision="tight" must be above 0 and below 1']),
    (dict(max_runs=1), ['max_runs=1 must be 2 or more']),
    (dict(max_runs=2.5), ['max_runs=2.5 must be a whole number of 2 or more']),
    (dict(num_prompts=0), ['num_prompts=0 must be 1 or more']),
    (dict(num_prompts='many'), ['num_prompts="many" must be a whole number of 1 or more']),
    (dict(input_len=0), ['input_len=0 must be a whole number of 1 or more']),
    (dict(output_len=0), ['output_len=0 must be a whole number of 1 or more']),
    (dict(output_len=-3), ['output_len=-3 must be a whole number of 1 or more']),
    (dict(input_len=1.5), ['input_len=1.5 must be a whole number of 1 or more']),
])
def test_each_rule_names_the_setting_and_its_value(changes, expected):
    found = problems(**changes)
    assert len(found) == len(expected), found
    for message, words in zip(found, expected):
        assert words in message, found


def test_problems_use_the_callers_names():
    names = {'low': 'vllm_bench_capacity_low', 'mode': 'vllm_bench_capacity_mode'}
    assert problems(mode='concurrency', names=names) == [
        'vllm_bench_capacity_low=0.5 must be a whole number of 1 or more in concurrency mode (a concurrency of 0 means no limit)']
    assert len(problems(mode='concurrency', low=0, high='x', ttft_p99_ms=-1, tpot_p99_ms='y', precision=2, max_runs=0,
                        num_prompts=0, input_len=0, output_len=0)) == 9


def test_a_follower_of_a_server_across_nodes_is_searched_at_its_leader_and_left_out():
    hostvars = {'lead': {'vllm_server_nodes': ['lead', 'follow']}, 'follow': {'vllm_server_nodes': ['lead', 'follow']}}
    report = capacity.build_report(['lead', 'follow'], hostvars, '2026-12-05T00:00:00+00:00')
    assert [row['host'] for row in report['nodes']] == ['lead']
