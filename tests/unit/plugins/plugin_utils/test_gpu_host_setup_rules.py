"""gpu_host_setup_rules: the role gpu_host_setup's rules across settings (each with a passing and a failing case,
naming the variable and the value), and its plan - what the setup changes on a node as gpu_host_info read it, and
what stops it before any change."""
import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.inferops.gpu_inference.plugins.module_utils import cdi
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import gpu_host_setup_rules as rules
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import role_variables
from unit_support import ROOT

with open(os.path.join(ROOT, 'roles', 'gpu_host_setup', 'defaults', 'main.yml')) as _handle:
    DEFAULTS = yaml.safe_load(_handle)
# The templated defaults as they render with no inventory variables.
RENDERED = {'gpu_host_setup_accelerator': 'nvidia', 'gpu_host_setup_container_engines': ['docker'],
            'gpu_host_setup_dcgm_exporter_unit': 'dcgm-exporter', 'gpu_host_setup_nvidia_smi': 'nvidia-smi',
            'gpu_host_setup_folders': ['/var/lib/inferops/hf-cache', '/var/lib/inferops/models', '/var/lib/inferops/vllm']}
GPUS = [{'index': 0, 'uuid': 'GPU-aaa', 'persistence_mode': False}, {'index': 1, 'uuid': 'GPU-bbb', 'persistence_mode': True}]


def settings(**changes):
    values = dict((name, RENDERED.get(name, DEFAULTS[name])) for name in rules.SETTINGS['main'])
    values.update(changes)
    return values


def info(docker=None, podman=None, cdi=None, gpus=None, ok=True, systemd=True):
    return {'os': {'id': 'ubuntu', 'version_id': '22.04', 'machine': 'x86_64', 'pretty_name': 'Ubuntu 22.04.5 LTS'},
            'nvidia': {'ok': ok, 'gpus': GPUS if gpus is None else gpus, 'msg': 'nvidia-smi: command not found'},
            'container': {'docker': docker or {'present': True, 'runtimes': ['runc']},
                          'podman': podman or {'present': True}, 'cdi_specs': cdi or []},
            'dcgm_exporter': {'systemd': systemd, 'unit_state': 'inactive'}}


def test_every_setting_the_rules_read_is_a_role_option():
    assert set(rules.SETTINGS['main']) <= role_variables.options('gpu_host_setup')
    assert set(DEFAULTS) == role_variables.options('gpu_host_setup')


def test_good_settings_have_no_problem():
    assert rules.problems(settings()) == []
    assert rules.problems(settings(gpu_host_setup_toolkit_repo_url='http://127.0.0.1:8088', gpu_host_setup_container_engines=[],
                                   gpu_host_setup_toolkit_packages=['nvidia-container-toolkit=1.17.8-1'])) == []
    assert rules.problems(settings(gpu_host_setup_toolkit_repo_url='file:/srv/mirror/nvidia')) == []


def test_bad_settings_are_named():
    found = rules.problems(settings(gpu_host_setup_container_engines=['docker', 'containerd']))
    assert found and 'gpu_host_setup_container_engines has "containerd"' in found[0]
    found = rules.problems(settings(gpu_host_setup_toolkit_repo_url='http://mirror/x\nSigned-By: /tmp/evil'))
    assert len(found) == 1 and 'gpu_host_setup_toolkit_repo_url=' in found[0] and 'without spaces' in found[0]
    found = rules.problems(settings(gpu_host_setup_toolkit_packages=['--allow-unauthenticated']))
    assert len(found) == 1 and '"--allow-unauthenticated"' in found[0]
    found = rules.problems(settings(gpu_host_setup_folders=['relative/path', '/']))
    assert len(found) == 1 and '"relative/path"' in found[0] and '"/"' in found[0]
    found = rules.problems(settings(gpu_host_setup_dcgm_exporter_repo_url='https://cuda.example/repo', gpu_host_setup_dcgm_exporter_key_url=''))
    assert len(found) == 1 and 'gpu_host_setup_dcgm_exporter_key_url=""' in found[0]
    assert rules.problems(settings(gpu_host_setup_toolkit_packages=[])) == [
        'gpu_host_setup_toolkit_packages is empty: list nvidia-container-toolkit (or set gpu_host_setup_toolkit: false)']
    # A CPU node reads no repository.
    assert rules.problems(settings(gpu_host_setup_accelerator='cpu', gpu_host_setup_toolkit_repo_url='x y')) == []


@pytest.mark.parametrize('host,port,found', [
    ('127.0.0.1', 9400, []), ('dcgm.internal', '5000', []), ('[::1]', 9400, []), (None, None, []),
    ('127.0.0.1/evil#', 9400, ['gpu_host_check_dcgm_exporter_host="127.0.0.1/evil#" must be a host name or an IP address']),
    ('user@10.0.0.1', 9400, ['gpu_host_check_dcgm_exporter_host="user@10.0.0.1" must be']),
    ('127.0.0.1', 70000, ['gpu_host_check_dcgm_exporter_port=70000 must be a port from 1 to 65535']),
    ('127.0.0.1', '94 00', ['gpu_host_check_dcgm_exporter_port="94 00" must be a port from 1 to 65535']),
], ids=['ip', 'name-and-text-port', 'ipv6', 'unset', 'path-in-host', 'userinfo', 'port-range', 'port-text'])
def test_the_preflights_dcgm_address_the_setup_waits_on_is_checked(host, port, found):
    context = {'gpu_host_check_dcgm_exporter_host': host, 'gpu_host_check_dcgm_exporter_port': port}
    problems = rules.problems(settings(), context)
    assert len(problems) == len(found) and all(p.startswith(f) for p, f in zip(problems, found)), problems


def test_plan_of_a_fresh_node():
    plan = rules.plan(info(), settings(gpu_host_setup_container_engines=['docker', 'podman']))
    assert plan['stops'] == [] and plan['install_engines'] == []
    assert plan['docker_runtime'] is True and plan['cdi_generate'] is True
    assert plan['cdi_devices'] == {'found': [], 'wanted': ['0', '1', 'GPU-aaa', 'GPU-bbb', 'all']}
    assert plan['persistence_off'] == [0] and plan['dcgm_exporter'] == 'package'


def test_plan_of_a_node_set_up_changes_nothing():
    spec = [{'path': '/etc/cdi/nvidia.yaml', 'kind': 'nvidia.com/gpu', 'devices': ['0', 'GPU-aaa', '1', 'GPU-bbb', 'all']}]
    node = info(docker={'present': True, 'runtimes': ['nvidia', 'runc']}, cdi=spec,
                gpus=[dict(g, persistence_mode=True) for g in GPUS])
    plan = rules.plan(node, settings(gpu_host_setup_container_engines=['docker', 'podman']))
    assert (plan['docker_runtime'], plan['cdi_generate'], plan['persistence_off']) == (False, False, [])
    # A GPU more: the spec is written again.
    three = GPUS + [{'index': 2, 'uuid': 'GPU-ccc', 'persistence_mode': True}]
    assert rules.plan(info(cdi=spec, gpus=three), settings(gpu_host_setup_container_engines=['podman']))['cdi_generate'] is True


def test_plan_stops_before_any_change():
    plan = rules.plan(info(docker={'present': False}), settings())
    assert plan['stops'] == ["docker not installed on the node: set gpu_host_setup_install_engines: true to install it from "
                             "the distribution's packages, or install it yourself"]
    assert rules.plan(info(docker={'present': False}), settings(gpu_host_setup_install_engines=True))['install_engines'] == ['docker']
    plan = rules.plan(info(), settings(), running=['inferops-vllm', 'other'])
    assert len(plan['stops']) == 1 and 'containers run on it: inferops-vllm, other' in plan['stops'][0]
    assert 'install the NVIDIA driver first' in rules.plan(info(ok=False), settings())['stops'][0]
    assert 'needs systemd' in rules.plan(info(systemd=False), settings())['stops'][0]
    assert rules.plan(info(systemd=False), settings(gpu_host_setup_dcgm_exporter='none'))['stops'] == []
    # A CPU node: engines and folders only.
    plan = rules.plan(info(ok=False, gpus=[]), settings(gpu_host_setup_accelerator='cpu'))
    assert plan['stops'] == [] and plan['docker_runtime'] is False and plan['dcgm_exporter'] == 'none'


def test_plan_restarts_a_dcgm_exporter_that_lacks_a_gpu():
    metrics = ''.join('DCGM_FI_DEV_GPU_UTIL{gpu="%d",UUID="GPU-%d"} 0\n' % (i, i) for i in (0, 1))
    node = info()
    node['dcgm_exporter'].update(unit_state='active', url='http://127.0.0.1:9400/metrics', status=200, metrics_text=metrics)
    assert rules.plan(node, settings())['dcgm_exporter_restart'] is False
    node['nvidia']['gpus'] = GPUS + [{'index': 2, 'uuid': 'GPU-ccc', 'persistence_mode': True}]
    assert rules.plan(node, settings())['dcgm_exporter_restart'] is True
    assert rules.plan(node, settings(gpu_host_setup_dcgm_exporter='none'))['dcgm_exporter_restart'] is False


def test_repositories_and_packages():
    cuda = 'https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2204/x86_64'
    plan = rules.plan(info(), settings())
    assert [r['name'] for r in plan['repositories']] == ['nvidia-container-toolkit', 'nvidia-cuda']
    assert plan['repositories'][1] == {'name': 'nvidia-cuda', 'url': cuda, 'key': cuda + '/3bf863cc.pub'}
    assert plan['packages'] == ['nvidia-container-toolkit', 'datacenter-gpu-manager-exporter']
    # A mirror serving both: one repository.
    plan = rules.plan(info(), settings(gpu_host_setup_dcgm_exporter_repo_url='toolkit'))
    assert [r['name'] for r in plan['repositories']] == ['nvidia-container-toolkit']
    # An exporter already running (DigitalOcean's GPU images): no package, no CUDA repository.
    node = info()
    node['dcgm_exporter']['unit_state'] = 'active'
    plan = rules.plan(node, settings())
    assert plan['packages'] == ['nvidia-container-toolkit'] and len(plan['repositories']) == 1
    # A distribution NVIDIA has no CUDA repository for: stop, naming the variables.
    node = info()
    node['os'] = {'id': 'fedora', 'version_id': '41', 'machine': 'x86_64', 'pretty_name': 'Fedora Linux 41'}
    stops = rules.plan(node, settings())['stops']
    assert len(stops) == 1 and 'Fedora Linux 41' in stops[0] and 'gpu_host_setup_dcgm_exporter_repo_url' in stops[0]
    assert rules.cuda_repository({'id': 'debian', 'version_id': '12', 'machine': 'aarch64'})['url'].endswith('/debian12/sbsa')
    assert rules.problems(settings(gpu_host_setup_dcgm_exporter_repo_url='toolkit')) == []


def test_cdi_spec_with_mig_names_is_current_and_a_gone_gpu_is_not():
    names = ['0', 'GPU-aaa', '1', 'GPU-bbb', 'all', '0:0', 'MIG-1234']
    spec = [{'path': '/etc/cdi/nvidia.yaml', 'kind': 'nvidia.com/gpu', 'devices': names}]
    podman = settings(gpu_host_setup_container_engines=['podman'])
    assert rules.plan(info(cdi=spec), podman)['cdi_generate'] is False
    gone = [dict(spec[0], devices=names + ['2', 'GPU-ccc'])]
    assert rules.plan(info(cdi=gone), podman)['cdi_generate'] is True


def test_a_dcgm_exporter_that_does_not_answer_is_not_restarted():
    node = info()
    node['dcgm_exporter'].update(unit_state='active', url='http://127.0.0.1:9400/metrics', status=None, metrics_text=None,
                                 error='connection refused')
    assert rules.plan(node, settings())['dcgm_exporter_restart'] is False


def test_the_toolkit_double_writes_the_spec_the_plan_wants_and_the_runtime(tmp_path):
    """nvidia-ctk's double (packaged in the bed's apt repository) against the plan: after `cdi generate`, the plan of the
    same node wants no new spec; `runtime configure` keeps dockerd's other keys."""
    doubles = os.path.join(ROOT, 'tests', 'doubles')
    smi = tmp_path / 'bin' / 'nvidia-smi'
    smi.parent.mkdir()
    smi.write_text('#!/bin/sh\nexec %s %s "$@"\n' % (sys.executable, os.path.join(doubles, 'nvidia_smi_double.py')))
    smi.chmod(0o755)
    env = dict(os.environ, PATH='%s:%s' % (smi.parent, os.environ['PATH']), NVIDIA_SMI_DOUBLE_PROFILE='{"gpus": 3}',
               NVIDIA_SMI_DOUBLE_FIXTURES=os.path.join(ROOT, 'tests', 'unit', 'fixtures', 'gpu', 'h100-80gb-x1'),
               NVIDIA_SMI_DOUBLE_STATE=str(tmp_path / 'state.json'))
    ctk = [sys.executable, os.path.join(doubles, 'nvidia_ctk_double.py')]
    spec = tmp_path / 'cdi' / 'nvidia.yaml'
    subprocess.run(ctk + ['cdi', 'generate', '--output=%s' % spec], env=env, check=True, capture_output=True)
    parsed = cdi.parse_spec(spec.read_text())
    assert parsed['kind'] == 'nvidia.com/gpu' and len(parsed['devices']) == 7, parsed
    out = subprocess.run(['nvidia-smi', '--query-gpu=index,uuid', '--format=csv,noheader'], env=env, check=True,
                         capture_output=True, text=True).stdout
    gpus = [{'index': int(i), 'uuid': u.strip(), 'persistence_mode': True} for i, u in (line.split(',') for line in out.splitlines())]
    node = info(cdi=[dict(parsed, path='/etc/cdi/nvidia.yaml')], gpus=gpus)
    assert rules.plan(node, settings(gpu_host_setup_container_engines=['podman']))['cdi_generate'] is False
    daemon = tmp_path / 'daemon.json'
    daemon.write_text('{"storage-driver": "vfs"}')
    subprocess.run(ctk + ['runtime', 'configure', '--runtime=docker', '--config=%s' % daemon], env=env, check=True, capture_output=True)
    assert json.loads(daemon.read_text()) == {'storage-driver': 'vfs', 'runtimes': {'nvidia': {'args': [], 'path': 'nvidia-container-runtime'}}}
