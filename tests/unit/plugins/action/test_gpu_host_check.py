"""The gpu_host_check action on the controller: validate, read the node once, judge.

The action runs as Ansible runs it, except for the connection: its one module run is
gpu_host_info run for real as a process on this machine (unit_support.run_module), where
nvidia-smi is the test double replaying real H100 captures (the one binary missing here).
"""
import os
import sys
from unittest.mock import MagicMock

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext

from ansible_collections.inferops.gpu_inference.plugins.action.gpu_host_check import ActionModule
from unit_support import DOUBLES, H100, ROOT, fake_executable, run_module


def settings(nvidia_smi, tmp_path, **overrides):
    """The role's defaults as the role passes them (its templated follow-ups resolved), with overrides."""
    with open(os.path.join(ROOT, 'roles', 'gpu_host_check', 'defaults', 'main.yml')) as handle:
        defaults = yaml.safe_load(handle)
    values = dict((name[len('gpu_host_check_'):], value) for name, value in defaults.items())
    values.update(accelerator='nvidia', container_engine='none', dcgm_exporter=False, nvidia_smi=nvidia_smi,
                  model_cache_path=str(tmp_path), expected_gpu_count=2)
    values.update(overrides)
    return values


@pytest.fixture
def run_action(tmp_path):
    """Run the action on 'node1' with the given settings and nvidia-smi double profile; returns (result, module runs)."""
    smi = fake_executable(str(tmp_path), 'nvidia-smi', 'exec %s %s "$@"\n' % (sys.executable, os.path.join(DOUBLES, 'nvidia_smi_double.py')))

    def run(profile='{"gpus": 2}', **overrides):
        calls = []

        def execute_module(module_name, module_args, task_vars):
            calls.append((module_name, module_args))
            env = {'NVIDIA_SMI_DOUBLE_FIXTURES': H100, 'NVIDIA_SMI_DOUBLE_PROFILE': profile}
            return run_module(module_name.split('.')[-1], module_args, env)

        task = MagicMock(async_val=0, check_mode=False, diff=False)
        task.args = {'settings': settings(smi, tmp_path, **overrides), 'name_prefix': 'gpu_host_check_'}
        action = ActionModule(task, MagicMock(), PlayContext(), DataLoader(), None, None)
        action._execute_module = execute_module
        return action.run(task_vars={'inventory_hostname': 'node1'}), calls
    return run


def test_bad_settings_fail_naming_the_variable_before_the_node_is_read(run_action):
    result, calls = run_action(mig_mode='sometimes', expected_gpu_count=-2, min_driver_version='550.x')
    assert result['failed'] and not result['gathered'] and calls == []
    assert result['msg'].startswith('Invalid gpu_host_check settings for node1 (nothing was run on the host)')
    for words in ('gpu_host_check_mig_mode must be one of: disabled, enabled, any, got: sometimes',
                  'gpu_host_check_expected_gpu_count=-2 must be 0 or more',
                  'gpu_host_check_min_driver_version=550.x must be a dotted version'):
        assert words in result['msg']


def test_a_healthy_node_is_read_once_and_passes(run_action):
    result, calls = run_action()
    assert not result.get('failed'), result.get('msg')
    assert [name for name, args in calls] == ['inferops.gpu_inference.gpu_host_info']
    # What the node is asked for follows from the settings: no dcgm-exporter scrape was asked for.
    assert calls[0][1]['dcgm_exporter_url'] == ''
    summary = result['summary']
    assert summary['fail'] == 0 and summary['ok'] > 5
    facts = result['ansible_facts']
    assert len(facts['gpu_host_check_gpus']) == 2 and facts['gpu_host_check_should_fail'] is False


def test_a_fault_fails_the_host_naming_its_check_or_waits_for_the_fleet_report(run_action):
    ecc = '{"gpus": 2, "set_gpu": {"1": {"ecc.errors.uncorrected.volatile.total": 4}}}'
    result, calls = run_action(profile=ecc)
    assert result['failed'] and result['summary']['failed'] == ['ecc_uncorrected']
    assert result['msg'].startswith('node1: preflight failed (1 failed') and 'ecc_uncorrected' in result['msg']
    deferred, dummy = run_action(profile=ecc, defer_failure=True)
    assert not deferred.get('failed') and deferred['should_fail'] is True
    reported, dummy = run_action(profile=ecc, fail_on='never')
    assert not reported.get('failed') and reported['should_fail'] is False and reported['warnings']
