"""Bad input to playbooks/bench.yml (role vllm_bench) and playbooks/redeploy.yml's own variables: rejected before the
warm-up, before a result folder is made and before any node changes; the message names the variable, the value and
what is allowed. The harness and its tripwires: badinput.py."""
import json
import os

import pytest

import badinput
from badinput import fill

BENCH = [
    # (id, settings, words)
    ('sweep-level-zero', {'vllm_bench_concurrency_sweep': [1, 0, 4]},
     ['vllm_bench_concurrency_sweep[1]=0 must be a whole number of 1 or more']),
    ('sweep-level-text', {'vllm_bench_concurrency_sweep': ['many']}, ['vllm_bench_concurrency_sweep', 'int']),
    ('sweep-level-negative', {'vllm_bench_concurrency_sweep': [-8]}, ['vllm_bench_concurrency_sweep[0]=-8']),
    ('sweep-level-twice', {'vllm_bench_concurrency_sweep': [4, 4]}, ['lists a level twice']),
    ('dataset-missing', {'vllm_bench_scenarios': [{'name': 'chat', 'num_prompts': 4, 'dataset_name': 'sharegpt',
                                                   'dataset_path': '{case}/no-such-sharegpt.json'}]},
     ['dataset_path {case}/no-such-sharegpt.json is not a file on node1']),
    ('dataset-sharegpt-no-path', {'vllm_bench_scenarios': [{'name': 'chat', 'num_prompts': 4, 'dataset_name': 'sharegpt'}]},
     ['vllm_bench_scenarios[0].dataset_name=sharegpt needs dataset_path']),
    ('dataset-relative', {'vllm_bench_scenarios': [{'name': 'chat', 'num_prompts': 4, 'dataset_path': 'data.json'}]},
     ['vllm_bench_scenarios[0].dataset_path="data.json" must be an absolute path']),
    ('baseline-missing', {'vllm_bench_baseline': '{case}/no-such-results.json', 'vllm_bench_gate_throughput_factor': 0.9},
     ['vllm_bench_baseline="{case}/no-such-results.json" is not a file on the controller']),
    ('throughput-gate-no-baseline', {'vllm_bench_gate_throughput_factor': 0.9},
     ['vllm_bench_gate_throughput_factor=0.9 needs vllm_bench_baseline']),
    ('throughput-gate-negative', {'vllm_bench_gate_throughput_factor': -1, 'vllm_bench_baseline': '{results}'},
     ['vllm_bench_gate_throughput_factor=-1 must be a number above 0']),
    ('ttft-gate-zero', {'vllm_bench_gate_ttft_p99_ms': 0}, ['vllm_bench_gate_ttft_p99_ms=0']),
    ('failed-gate-negative', {'vllm_bench_gate_failed_requests': -1}, ['vllm_bench_gate_failed_requests=-1']),
    ('price-negative', {'vllm_bench_price_per_hour': -2.5}, ['vllm_bench_price_per_hour=-2.5']),
    ('scenario-name-slash', {'vllm_bench_scenarios': [{'name': '../../x', 'num_prompts': 1}]},
     ['vllm_bench_scenarios[0].name="../../x"', 'letters, digits']),
    ('scenario-name-twice', {'vllm_bench_scenarios': [{'name': 'a', 'num_prompts': 1}, {'name': 'a', 'num_prompts': 2}]},
     ['vllm_bench_scenarios[1].name=a is used twice']),
    ('setting-typo', {'vllm_bench_extra_args': ['--seed', '1']},
     ['vllm_bench_extra_args is not a variable of the role vllm_bench']),
    ('scenario-key-typo', {'vllm_bench_scenarios': [{'name': 'a', 'num_prompts': 1, 'num_prompt': 5}]},
     ['vllm_bench_scenarios[0] has unknown key(s) num_prompt']),
    ('scenario-no-prompts', {'vllm_bench_scenarios': [{'name': 'a'}]}, ['vllm_bench_scenarios[0].num_prompts is missing']),
    ('scenario-rate-zero', {'vllm_bench_scenarios': [{'name': 'a', 'num_prompts': 1, 'request_rate': 0}]},
     ['vllm_bench_scenarios[0].request_rate=0 must be a positive number or inf']),
    ('scenario-input-zero', {'vllm_bench_scenarios': [{'name': 'a', 'num_prompts': 1, 'input_len': 0}]},
     ['vllm_bench_scenarios[0].input_len=0']),
    ('scenario-burstiness-zero', {'vllm_bench_scenarios': [{'name': 'a', 'num_prompts': 1, 'burstiness': 0}]},
     ['vllm_bench_scenarios[0].burstiness=0']),
    ('scenario-not-dict', {'vllm_bench_scenarios': ['single']}, ['vllm_bench_scenarios', 'dict']),
    ('nothing-to-run', {'vllm_bench_scenarios': []}, ['nothing to run']),
    ('result-dir-relative', {'vllm_bench_result_dir': 'bench'}, ['vllm_bench_result_dir="bench"']),
    ('base-url-junk', {'vllm_bench_base_url': '127.0.0.1:8000'}, ['vllm_bench_base_url="127.0.0.1:8000"', 'http://']),
    ('container-injection', {'vllm_bench_runner': 'exec', 'vllm_bench_container': 'vllm; touch {case}/pwned'},
     ['vllm_bench_container="vllm; touch']),
    ('vllm-path-shell', {'vllm_bench_vllm': '/opt/vllm/bin/vllm && touch {case}/pwned'}, ['vllm_bench_vllm=', 'shell syntax']),
    ('percentiles-junk', {'vllm_bench_percentiles': '50,90,999'}, ['vllm_bench_percentiles="50,90,999"']),
    ('goodput-junk', {'vllm_bench_goodput': ['ttft=500']}, ['vllm_bench_goodput item(s) "ttft=500"']),
    ('sample-interval-tiny', {'vllm_bench_sample_interval_ms': 1}, ['vllm_bench_sample_interval_ms=1']),
]

REDEPLOY = [
    ('serial-zero', {'redeploy_serial': 0}, ['redeploy_serial=0 must be a count of 1 or more']),
    ('serial-150-percent', {'redeploy_serial': '150%'}, ['redeploy_serial="150%"', 'from 1% to 100%']),
    ('serial-text', {'redeploy_serial': 'abc'}, ['redeploy_serial="abc"']),
    ('serial-zero-percent', {'redeploy_serial': '0%'}, ['redeploy_serial="0%"']),
    ('serial-list-bad', {'redeploy_serial': [1, '25%', -2]}, ['redeploy_serial=[1, "25%", -2]', 'not -2']),
    ('serial-empty-list', {'redeploy_serial': []}, ['redeploy_serial=[]']),
    ('max-fail-200', {'redeploy_max_fail_percentage': 200}, ['redeploy_max_fail_percentage=200', 'from 0 to 100']),
    ('max-fail-negative', {'redeploy_max_fail_percentage': -5}, ['redeploy_max_fail_percentage=-5']),
    ('max-fail-text', {'redeploy_max_fail_percentage': 'some'}, ['redeploy_max_fail_percentage="some"']),
    ('gateways-unknown', {'redeploy_gateways': ['gw-typo']}, ['redeploy_gateways=["gw-typo"]', 'not in the inventory: gw-typo']),
    ('gateways-string', {'redeploy_gateways': 'gw1'}, ['redeploy_gateways="gw1" must be a list']),
    ('perf-drop-whole', {'redeploy_max_throughput_drop': 1.0}, ['redeploy_max_throughput_drop=1.0', 'the drop below 1']),
    ('perf-rise-text', {'redeploy_max_ttft_rise': 'lots'}, ['redeploy_max_ttft_rise="lots"', 'must be a fraction']),
    ('perf-canary-zero', {'redeploy_max_ttft_rise': 0.2, 'redeploy_canary': 0},
     ['redeploy_canary=0 must be a count of servers', '1 or more with a performance gate']),
    ('perf-canary-too-many', {'redeploy_canary': 9}, ['redeploy_canary=9 must be a count of servers from 0 to 1']),
    ('perf-scenarios-empty', {'redeploy_max_ttft_rise': 0.2, 'redeploy_perf_scenarios': []}, ['redeploy_perf_scenarios', 'it is empty']),
    ('perf-scenarios-bad', {'redeploy_max_ttft_rise': 0.2, 'redeploy_perf_scenarios': [{'name': 'x y', 'num_prompts': 0}]},
     ['redeploy_perf_scenarios (as vllm_bench_scenarios)', 'vllm_bench_scenarios[0]']),
    ('mistyped-setting', {'redeploy_max_ttft_raise': 0.2},
     ['redeploy_max_ttft_raise is not a variable of the role redeploy', 'did you mean redeploy_max_ttft_rise']),
]


def case_folder(tmp_path):
    case_dir = str(tmp_path / 'case')
    os.makedirs(case_dir)
    results = str(tmp_path / 'results.json')  # a real baseline, outside the case's folder
    with open(results, 'w') as handle:
        json.dump({'records': []}, handle)
    return case_dir, results


@pytest.mark.parametrize('settings,words', [c[1:] for c in BENCH], ids=[c[0] for c in BENCH])
def test_bench_rejects_before_the_warm_up(tmp_path, settings, words):
    case_dir, results = case_folder(tmp_path)
    extra = dict(badinput.bench_vars(case_dir), **fill(settings, case_dir, results))
    rc, out = badinput.run_playbook('bench.yml', case_dir, extra, badinput.inventory(case_dir))
    badinput.check_rejected(rc, out, [fill(w, case_dir) for w in words], case_dir, None)
    assert 'Warm up' not in out or 'skipping' in out.split('Warm up')[1][:300], 'the warm-up ran'
    assert not os.path.exists(os.path.join(case_dir, 'reports')), 'a fleet report was written'


def test_bench_settings_of_the_battery_reach_the_warm_up(tmp_path):
    """The counterpart: the harness's bench settings pass validation and reach the tripwire (a vllm that does not
    exist, after the module made the result folder), so the checks above can fail."""
    case_dir, dummy = case_folder(tmp_path)
    rc, out = badinput.run_playbook('bench.yml', case_dir, badinput.bench_vars(case_dir), badinput.inventory(case_dir))
    assert rc != 0 and 'no-such-vllm' in out, out[-3000:]
    assert 'Invalid vllm_bench settings' not in out


CAPACITY = [
    ('capacity-low-zero', {'vllm_bench_capacity_low': 0}, ['vllm_bench_capacity_low=0 and vllm_bench_capacity_high=64.0', '0 < low <= high']),
    ('capacity-low-above-high', {'vllm_bench_capacity_low': 10, 'vllm_bench_capacity_high': 5}, ['vllm_bench_capacity_low=10']),
    ('capacity-no-slo', {'vllm_bench_capacity_ttft_p99_ms': None, 'vllm_bench_capacity_tpot_p99_ms': None}, ['are both null']),
    ('capacity-slo-negative', {'vllm_bench_capacity_ttft_p99_ms': -5}, ['vllm_bench_capacity_ttft_p99_ms=-5', 'above 0']),
    ('capacity-precision-one', {'vllm_bench_capacity_precision': 1}, ['vllm_bench_capacity_precision=1 must be above 0 and below 1']),
    ('capacity-mode', {'vllm_bench_capacity_mode': 'speed'}, ['vllm_bench_capacity_mode', 'rate, concurrency']),
    ('capacity-runs-one', {'vllm_bench_capacity_max_runs': 1}, ['vllm_bench_capacity_max_runs=1 must be 2 or more']),
    ('capacity-concurrency-default-low', {'vllm_bench_capacity_mode': 'concurrency'},
     ['vllm_bench_capacity_low=0.5 must be a whole number of 1 or more in concurrency mode', 'a concurrency of 0 means no limit']),
    ('capacity-concurrency-high-fraction', {'vllm_bench_capacity_mode': 'concurrency', 'vllm_bench_capacity_low': 1,
                                            'vllm_bench_capacity_high': 7.5},
     ['vllm_bench_capacity_high=7.5 must be a whole number of 1 or more in concurrency mode']),
    ('capacity-input-len-zero', {'vllm_bench_capacity_input_len': 0}, ['vllm_bench_capacity_input_len=0 must be a whole number of 1 or more']),
    ('capacity-output-len-zero', {'vllm_bench_capacity_output_len': 0}, ['vllm_bench_capacity_output_len=0 must be a whole number of 1 or more']),
    ('capacity-tpot-negative', {'vllm_bench_capacity_tpot_p99_ms': -20}, ['vllm_bench_capacity_tpot_p99_ms=-20', 'above 0']),
    ('capacity-ttft-text', {'vllm_bench_capacity_ttft_p99_ms': 'fast'}, ['vllm_bench_capacity_ttft_p99_ms', 'convert to float']),
]


@pytest.mark.parametrize('settings,words', [c[1:] for c in CAPACITY], ids=[c[0] for c in CAPACITY])
def test_capacity_rejects_before_the_warm_up(tmp_path, settings, words):
    case_dir, dummy = case_folder(tmp_path)
    extra = dict(badinput.bench_vars(case_dir), **settings)
    rc, out = badinput.run_playbook('capacity.yml', case_dir, extra, badinput.inventory(case_dir))
    badinput.check_rejected(rc, out, words, case_dir, None)
    assert 'Warm up' not in out or 'skipping' in out.split('Warm up')[1][:300], 'the warm-up ran'
    assert not os.path.exists(os.path.join(case_dir, 'reports', 'capacity-latest')), 'a capacity report was written'


def test_capacity_settings_of_the_battery_reach_the_warm_up(tmp_path):
    """The counterpart: the harness's settings pass the search's checks and reach the tripwire (a vllm that does not exist)."""
    case_dir, dummy = case_folder(tmp_path)
    rc, out = badinput.run_playbook('capacity.yml', case_dir, badinput.bench_vars(case_dir), badinput.inventory(case_dir))
    assert rc != 0 and 'no-such-vllm' in out, out[-3000:]
    assert 'Invalid vllm_bench' not in out


@pytest.mark.parametrize('settings,words', [c[1:] for c in REDEPLOY], ids=[c[0] for c in REDEPLOY])
def test_redeploy_rejects_before_any_node_changes(tmp_path, settings, words):
    case_dir = str(tmp_path / 'case')
    os.makedirs(case_dir)
    extra = dict(badinput.node_vars(case_dir), redeploy_preflight=False, **settings)
    rc, out = badinput.run_playbook('redeploy.yml', case_dir, extra, badinput.inventory(case_dir, groups={'gw1': []}),
                                    env={'NVIDIA_SMI_DOUBLE_PROFILE': '{"gpus": 2}'})
    badinput.check_rejected(rc, out, words, case_dir, badinput.containers())
    assert 'Invalid redeploy settings' in out


def test_capacity_search_reaches_its_runs_without_printing_the_api_key(tmp_path):
    """Without the warm-up, the search's first step (vllm_bench called by the vllm_capacity action) meets the tripwire;
    at -vvv the API key the action passes to every step is printed nowhere."""
    case_dir, dummy = case_folder(tmp_path)
    extra = dict(badinput.bench_vars(case_dir), vllm_bench_warmup=False)
    rc, out = badinput.run_playbook('capacity.yml', case_dir, extra, badinput.inventory(case_dir))
    assert rc != 0 and 'vllm_capacity on node1: a benchmark run broke' in out and 'no-such-vllm' in out, out[-3000:]
    assert badinput.API_KEY not in out
