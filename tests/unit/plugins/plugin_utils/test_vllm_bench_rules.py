"""vllm_bench_rules: the role vllm_bench's rules across settings, each with a passing and a failing case; the messages
name the variable, the value and what is allowed (the integration battery, test_bad_input_bench_redeploy.py, looks for
the same words). The entry point capacity adds the search's settings; a vllm_bench_* variable the role does not have is
named with the closest one."""
import os

import pytest
import yaml

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import role_variables
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import vllm_bench_rules as rules
from unit_support import ROOT

with open(os.path.join(ROOT, 'roles', 'vllm_bench', 'defaults', 'main.yml')) as _handle:
    DEFAULTS = yaml.safe_load(_handle)


def settings(**changes):
    values = dict((name, DEFAULTS[name]) for name in rules.SETTINGS['capacity'])
    # The defaults that are expressions, as the role resolves them for a docker server on its default port.
    values.update(vllm_bench_runner='exec', vllm_bench_container='vllm', vllm_bench_vllm='vllm', vllm_bench_model='model',
                  vllm_bench_base_url='http://127.0.0.1:8000', vllm_bench_price_per_hour=0, vllm_bench_env={'HF_HUB_OFFLINE': '1'},
                  vllm_bench_result_dir='/var/lib/inferops/bench')
    values.update(changes)
    return values


def problems(entry_point='main', names=(), **changes):
    return rules.problems(settings(**changes), {'variable_names': list(names)}, entry_point)


def test_every_setting_the_rules_read_is_a_role_option():
    assert set(rules.SETTINGS['capacity']) <= role_variables.options('vllm_bench')
    assert set(rules.SETTINGS['main']) < set(rules.SETTINGS['capacity'])


def test_good_settings_have_no_problem(tmp_path):
    assert problems() == []
    assert problems('capacity') == []
    baseline = tmp_path / 'results.json'
    baseline.write_text('{}')
    good = dict(vllm_bench_gate_throughput_factor=0.9, vllm_bench_baseline=str(baseline), vllm_bench_gate_ttft_p99_ms=500,
                vllm_bench_gate_failed_requests=None, vllm_bench_price_per_hour='2.5', vllm_bench_runner='local',
                vllm_bench_container='not checked; not exec', vllm_bench_vllm='/opt/vllm/bin/vllm', vllm_bench_percentiles='50,99.9,100',
                vllm_bench_goodput=['ttft:500', 'e2el:2000.5'], vllm_bench_scenarios=[], vllm_bench_concurrency_sweep=[1, 8],
                vllm_bench_warmup='no', vllm_bench_warmup_prompts=0, vllm_bench_base_url='https://bench.example:8443/v1')
    assert problems(**good) == []


# (case, changes, the message) - each rule broken once; the passing side of each is the good settings above.
FAILING = [
    ('scenario', {'vllm_bench_scenarios': [{'name': 'a'}]}, 'vllm_bench_scenarios[0].num_prompts is missing'),
    ('sweep', {'vllm_bench_concurrency_sweep': [1, 0]}, 'vllm_bench_concurrency_sweep[1]=0 must be a whole number of 1 or more'),
    ('model', {'vllm_bench_model': ''}, 'vllm_bench_model is empty: give the served model name'),
    ('nothing-to-run', {'vllm_bench_scenarios': [], 'vllm_bench_concurrency_sweep': []},
     'vllm_bench_scenarios and vllm_bench_concurrency_sweep are both empty: nothing to run'),
    ('base-url', {'vllm_bench_base_url': '127.0.0.1:8000'}, 'vllm_bench_base_url="127.0.0.1:8000" must be an http:// or https:// URL'),
    ('base-url-newline', {'vllm_bench_base_url': 'http://a/\n'}, 'vllm_bench_base_url="http://a/\\n"'),
    ('result-dir', {'vllm_bench_result_dir': 'bench'},
     'vllm_bench_result_dir="bench" must be an absolute path without whitespace or .. parts'),
    ('result-dir-dotdot', {'vllm_bench_result_dir': '/var/../etc'}, 'vllm_bench_result_dir="/var/../etc"'),
    ('factor-no-baseline', {'vllm_bench_gate_throughput_factor': 0.9},
     'vllm_bench_gate_throughput_factor=0.9 needs vllm_bench_baseline (a results.json to compare with)'),
    ('factor-negative', {'vllm_bench_gate_throughput_factor': -1, 'vllm_bench_baseline': __file__},
     'vllm_bench_gate_throughput_factor=-1 must be a number above 0'),
    ('baseline-missing', {'vllm_bench_baseline': '/nonexistent/results.json'},
     'vllm_bench_baseline="/nonexistent/results.json" is not a file on the controller'),
    ('ttft-gate', {'vllm_bench_gate_ttft_p99_ms': 0},
     'vllm_bench_gate_ttft_p99_ms=0 must be a number of milliseconds above 0 (or null: no gate)'),
    ('failed-gate', {'vllm_bench_gate_failed_requests': -1}, 'vllm_bench_gate_failed_requests=-1 must be 0 or more (or null: no gate)'),
    ('price', {'vllm_bench_price_per_hour': -2.5}, 'vllm_bench_price_per_hour=-2.5 must be 0 (no cost column) or more'),
    ('sample-interval', {'vllm_bench_sample_interval_ms': 1}, 'vllm_bench_sample_interval_ms=1 must be 50 or more'),
    ('container', {'vllm_bench_container': 'vllm; touch x'},
     'vllm_bench_container="vllm; touch x" must be a container name (letters, digits, . _ -)'),
    ('vllm', {'vllm_bench_vllm': '/opt/vllm/bin/vllm && touch x'},
     'vllm_bench_vllm="/opt/vllm/bin/vllm && touch x" must be a command name or an absolute path, without whitespace or shell syntax'),
    ('percentiles', {'vllm_bench_percentiles': '50,90,999'},
     'vllm_bench_percentiles="50,90,999" must be comma-separated numbers from 0 to 100, such as 50,90,99'),
    ('goodput', {'vllm_bench_goodput': ['ttft:500', 'ttft=500']},
     'vllm_bench_goodput item(s) "ttft=500" must be METRIC:MILLISECONDS with METRIC ttft, tpot or e2el (such as ttft:500)'),
    ('goodput-a-string', {'vllm_bench_goodput': 'ttft:500'}, 'vllm_bench_goodput="ttft:500" must be a list'),
    ('timeout', {'vllm_bench_timeout': 0}, 'vllm_bench_timeout=0 must be 1 or more seconds'),
    ('prompts-per-level', {'vllm_bench_sweep_prompts_per_level': 0}, 'vllm_bench_sweep_prompts_per_level=0 must be 1 or more'),
    ('warmup-prompts', {'vllm_bench_warmup': 'yes', 'vllm_bench_warmup_prompts': 0}, 'vllm_bench_warmup_prompts=0 must be 1 or more'),
    ('env-secret', {'vllm_bench_env': {'HF_TOKEN': 'x', 'OPENAI_API_KEY': 'y'}},
     'vllm_bench_env names HF_TOKEN, OPENAI_API_KEY look like secrets'),
    ('env-name', {'vllm_bench_env': {'A B': '1'}}, 'vllm_bench_env name(s) "A B" must be letters, digits and _'),
    ('env-not-a-dict', {'vllm_bench_env': ['HF_HUB_OFFLINE=1']}, 'vllm_bench_env must be a dictionary'),
    ('env-text-secret', {'vllm_bench_env': 'A=1,MY_SECRET=2'}, 'vllm_bench_env names MY_SECRET look like secrets'),
]


@pytest.mark.parametrize('changes,message', [c[1:] for c in FAILING], ids=[c[0] for c in FAILING])
def test_each_rule_names_the_variable_the_value_and_what_is_allowed(changes, message):
    assert message in '; '.join(problems(**changes))


def test_the_capacity_settings_are_checked_for_the_capacity_entry_point_only():
    bad = {'vllm_bench_capacity_low': 10, 'vllm_bench_capacity_high': 5}
    assert problems(**bad) == []
    assert problems('capacity', **bad) == ['vllm_bench_capacity_low=10 and vllm_bench_capacity_high=5 must satisfy 0 < low <= high']
    assert problems('capacity', vllm_bench_capacity_mode='concurrency')[0].startswith(
        'vllm_bench_capacity_low=0.5 must be a whole number of 1 or more in concurrency mode')


def test_every_problem_is_listed_at_once():
    found = problems('capacity', vllm_bench_timeout=0, vllm_bench_model='', vllm_bench_capacity_max_runs=1)
    assert len(found) == 3
