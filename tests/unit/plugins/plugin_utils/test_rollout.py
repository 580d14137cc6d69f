"""The rolling redeploy's rules (plugins/plugin_utils/rollout.py): batches, canary, and each problem."""
import os

import pytest
import yaml

from ansible_collections.inferops.gpu_inference.plugins.filter import rollout as rollout_filter
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import rollout

ROLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'redeploy')
HOSTS = ['node1', 'node2', 'node3', 'gw1']


def problems(**settings):
    return rollout.problems(settings, HOSTS, 3)


def test_defaults_agree_with_the_role():
    with open(os.path.join(ROLE, 'defaults', 'main.yml')) as handle:
        defaults = yaml.safe_load(handle)
    with open(os.path.join(ROLE, 'meta', 'argument_specs.yml')) as handle:
        options = yaml.safe_load(handle)['argument_specs']['main']['options']
    for name, value in rollout.DEFAULTS.items():
        assert defaults[name] == value, name
        assert options[name]['default'] == value, name
    # Null: not given, meaning "the default rule" (canary) or "no gate".
    for name in ('redeploy_canary', 'redeploy_max_throughput_drop', 'redeploy_max_ttft_rise'):
        assert defaults[name] is None and options[name]['default'] is None


def test_the_defaults_pass():
    assert problems() == []
    assert problems(redeploy_gateways=['gw1'], redeploy_max_ttft_rise=0.2) == []


@pytest.mark.parametrize('serial, canary, drop, rise, expected', [
    (None, None, None, None, [1]),
    (2, None, None, None, [2]),
    ('25%', None, None, None, ['25%']),
    ([1, '50%'], None, None, None, [1, '50%']),
    (1, None, 0.1, None, [1, 1]),
    (3, None, None, '0.2', [1, 3]),
    (1, 2, 0.1, None, [2, 1]),
    (1, 0, None, None, [1]),
    (1, '', '', '', [1]),
])
def test_batches(serial, canary, drop, rise, expected):
    assert rollout_filter.redeploy_batches(serial, canary, drop, rise) == expected


def test_canary_size_and_gate():
    assert rollout_filter.redeploy_canary_size(None, None, None) == 0
    assert rollout_filter.redeploy_canary_size(None, 0.1, None) == 1
    assert rollout_filter.redeploy_canary_size('2', None, 0.5) == 2
    assert rollout_filter.redeploy_canary_size('x', None, None) == 0
    assert rollout_filter.redeploy_gate(None, None) is False
    assert rollout_filter.redeploy_gate('', 0.2) is True


@pytest.mark.parametrize('settings, words', [
    ({'redeploy_serial': 0}, ['redeploy_serial=0 must be a count of 1 or more']),
    ({'redeploy_serial': '150%'}, ['redeploy_serial="150%"', 'not 150%']),
    ({'redeploy_serial': [1, '25%', -2]}, ['redeploy_serial=[1, "25%", -2]', 'not -2']),
    ({'redeploy_serial': []}, ['redeploy_serial=[]']),
    ({'redeploy_serial': True}, ['redeploy_serial=true', 'not True']),
    ({'redeploy_max_fail_percentage': 200}, ['redeploy_max_fail_percentage=200', 'from 0 to 100']),
    ({'redeploy_max_fail_percentage': 'some'}, ['redeploy_max_fail_percentage="some"']),
    ({'redeploy_gateways': ['gw-typo', 'gw-typo']}, ['not in the inventory: gw-typo']),
    ({'redeploy_gateways': 'gw1'}, ['redeploy_gateways="gw1" must be a list']),
    ({'redeploy_max_throughput_drop': 1.0}, ['redeploy_max_throughput_drop=1.0', 'the drop below 1']),
    ({'redeploy_max_ttft_rise': 'lots'}, ['redeploy_max_ttft_rise="lots"', 'must be a fraction']),
    ({'redeploy_max_throughput_drop': 'x'}, ['redeploy_max_throughput_drop="x"']),
    ({'redeploy_max_ttft_rise': 0.2, 'redeploy_canary': 0}, ['redeploy_canary=0', '1 or more with a performance gate']),
    ({'redeploy_canary': 9}, ['redeploy_canary=9 must be a count of servers from 0 to 3']),
    ({'redeploy_canary': 'one'}, ['redeploy_canary=one']),
    ({'redeploy_max_ttft_rise': 0.2, 'redeploy_perf_scenarios': []}, ['redeploy_perf_scenarios', 'it is empty']),
    ({'redeploy_max_ttft_rise': 0.2, 'redeploy_perf_scenarios': [{'name': 'x y', 'num_prompts': 0}]},
     ['redeploy_perf_scenarios (as vllm_bench_scenarios)', 'vllm_bench_scenarios[0]']),
])
def test_each_problem_names_the_variable_and_the_value(settings, words):
    found = problems(**settings)
    assert len(found) == 1, found
    for word in words:
        assert word in found[0]


def test_scenarios_are_not_judged_without_a_gate():
    assert problems(redeploy_perf_scenarios=[]) == []


def test_the_filter_takes_ansible_values():
    assert rollout_filter.redeploy_problems({'redeploy_serial': 0}, ('a', 'b'), '2')[0].startswith('redeploy_serial=0')


@pytest.mark.parametrize('serial, canary, drop, units, expected', [
    # One-node servers: Ansible's own batches, as before.
    (1, None, None, [1, 1, 1], [1]),
    ('50%', None, None, None, ['50%']),
    # A server across nodes counts once and stays in one batch.
    (1, None, None, [2, 1, 3], [2, 1, 3]),
    (2, None, None, [2, 1, 3], [3, 3]),
    ('50%', None, None, [2, 1, 1, 2], [3, 3]),
    ('10%', None, None, [2, 1], [2, 1]),
    ([1, '100%'], None, None, [2, 1, 3, 1], [2, 5]),
    # The canary is the first server, whole; then redeploy_serial's batches.
    (2, None, 0.1, [2, 1, 1, 2], [2, 2, 2]),
    (1, 2, 0.1, [1, 2, 2], [3, 2]),
    # A bad entry is left for the role's rules to name.
    ('0', None, None, [2, 1], ['0']),
])
def test_batches_count_servers_with_units(serial, canary, drop, units, expected):
    batches = rollout_filter.redeploy_batches(serial, canary, drop, None, units)
    assert batches == expected
    if units and any(u > 1 for u in units) and str(serial) != '0':
        assert sum(batches) == sum(units)


def test_the_units_go_through_the_inventory_and_come_back_in_order():
    units = [['z'], ['l', 'f'], ['a']]
    items = rollout_filter.redeploy_unit_groups(units)
    assert [i['name'] for i in items] == ['z', 'l', 'f', 'a']
    assert all(i['groups'][0] == rollout.ORDER_GROUP for i in items)
    groups = {'all': ['a', 'f', 'l', 'z'], 'gpu_nodes': ['a', 'f', 'l', 'z']}
    for item in items:  # as add_host writes them
        for group in item['groups']:
            groups.setdefault(group, []).append(item['name'])
    assert groups[rollout.ORDER_GROUP] == ['z', 'l', 'f', 'a']
    assert rollout_filter.redeploy_units(groups) == units
    assert rollout_filter.redeploy_units({'all': ['a']}) == []
