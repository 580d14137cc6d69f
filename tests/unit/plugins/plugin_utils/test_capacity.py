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
