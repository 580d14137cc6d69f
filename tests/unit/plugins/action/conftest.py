"""What the action tests share: running the gpu_host_check action as Ansible runs it, except for the
connection: its one module run is gpu_host_info run for real as a process on this machine
(unit_support.run_module), where nvidia-smi is the test double replaying real H100 captures."""
import os
import sys

import pytest
import yaml

from ansible_collections.inferops.gpu_inference.plugins.action.gpu_host_check import ActionModule
from unit_support import DOUBLES, H100, ROOT, fake_executable, make_action, run_module


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
    """Run the action on a host (node1) with the given settings and nvidia-smi double profile; returns (result, module runs)."""
    smi = fake_executable(str(tmp_path), 'nvidia-smi', 'exec %s %s "$@"\n' % (sys.executable, os.path.join(DOUBLES, 'nvidia_smi_double.py')))

    def run(profile='{"gpus": 2}', host='node1', **overrides):
        calls = []

        def execute_module(module_name, module_args, task_vars):
            calls.append((module_name, module_args))
            env = {'NVIDIA_SMI_DOUBLE_FIXTURES': H100, 'NVIDIA_SMI_DOUBLE_PROFILE': profile}
            return run_module(module_name.split('.')[-1], module_args, env)

        action = make_action(ActionModule, {'settings': settings(smi, tmp_path, **overrides), 'name_prefix': 'gpu_host_check_'})
        action._execute_module = execute_module
        return action.run(task_vars={'inventory_hostname': host}), calls
    return run
