"""What the action tests share: running the gpu_host_check action as Ansible runs it, except for the
connection: its one module run is gpu_host_info run for real as a process on this machine
(unit_support.run_module), where nvidia-smi is the test double replaying real H100 captures."""
import os
import sys

import pytest

from ansible_collections.inferops.gpu_inference.plugins.action.gpu_host_check import ActionModule
from unit_support import DOUBLES, H100, ROOT, fake_executable, make_action, run_module


def role_vars(nvidia_smi, tmp_path, **overrides):
    """The role's variables as a task of the role sees them: its defaults file as Ansible loads it (the
    templated ones still templates, for the action to resolve), this node's overrides on top."""
    from ansible.parsing.dataloader import DataLoader
    path = os.path.join(ROOT, 'roles', 'gpu_host_check', 'defaults', 'main.yml')
    try:
        values = dict(DataLoader().load_from_file(path, trusted_as_template=True))  # as a role's defaults are
    except TypeError:  # ansible-core before 2.19: no trust marks, every string may be a template
        values = dict(DataLoader().load_from_file(path))
    node = dict(container_engine='none', dcgm_exporter=False, nvidia_smi=nvidia_smi, model_cache_path=str(tmp_path),
                expected_gpu_count=2)
    node.update(overrides)
    values.update(('gpu_host_check_' + key, value) for key, value in node.items())
    return values


@pytest.fixture
def run_action(tmp_path):
    """Run the action on a host (node1) with the given settings and nvidia-smi double profile; returns (result, module runs)."""
    smi = fake_executable(str(tmp_path), 'nvidia-smi', 'exec %s %s "$@"\n' % (sys.executable, os.path.join(DOUBLES, 'nvidia_smi_double.py')))

    def run(profile='{"gpus": 2}', host='node1', fleet_vars=None, **overrides):
        calls = []

        def execute_module(module_name, module_args, task_vars):
            calls.append((module_name, module_args))
            env = {'NVIDIA_SMI_DOUBLE_FIXTURES': H100, 'NVIDIA_SMI_DOUBLE_PROFILE': profile}
            return run_module(module_name.split('.')[-1], module_args, env)

        task_vars = dict(role_vars(smi, tmp_path, **overrides), inventory_hostname=host, **(fleet_vars or {}))
        action = make_action(ActionModule, {}, variables=task_vars)
        action._execute_module = execute_module
        return action.run(task_vars=task_vars), calls
    return run
