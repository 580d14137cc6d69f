"""Tests of the preflight judge (plugins/plugin_utils/gpu_host_checks.py) and fleet report (preflight_report.py)."""
import copy
import os

import pytest
import yaml

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.gpu_host_checks import (
    checks_summary, gather_args, gpu_host_checks, settings_problems, version_tuple)
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.preflight_report import (
    preflight_fleet_report, preflight_markdown)
from ansible_collections.inferops.gpu_inference.plugins.module_utils import cdi
from ansible_collections.inferops.gpu_inference.plugins.module_utils.nvidia_smi import collect
from unit_support import DOUBLES, ROOT, double_runner

import dcgm_exporter_double


def info(profile='{"gpus": 2}', dcgm=True, omit=()):
    nvidia = collect(double_runner(profile))
    nvidia['ok'] = True
    text = dcgm_exporter_double.render(nvidia['gpu_count'], set(omit)) if dcgm else None
    return {
        'os': {'pretty_name': 'Ubuntu 24.04.3 LTS', 'kernel': '6.8.0'},
        'nvidia': nvidia,
        'dcgm_exporter': {'systemd': True, 'unit': 'dcgm-exporter', 'unit_state': 'active' if dcgm else 'inactive',
                          'url': 'http://127.0.0.1:9400/metrics', 'metrics_text': text,
                          'error': None if dcgm else 'URLError: refused'},
        'container': {'docker': {'present': True, 'version': '27.3.1', 'runtimes': ['nvidia', 'runc']},
                      'cdi_specs': []},
        'storage': {'model_cache': {'path': '/m', 'measured_path': '/', 'free_bytes': 500 * 1024 ** 3},
                    'shm': {'size_bytes': 32 * 1024 ** 3}},
    }


def role_settings(**overrides):
    """The gpu_host_check role's defaults as the action's settings (the fleet-wide follow-ups resolved)."""
    with open(os.path.join(ROOT, 'roles', 'gpu_host_check', 'defaults', 'main.yml')) as handle:
        defaults = yaml.safe_load(handle)
    settings = dict((name[len('gpu_host_check_'):], value) for name, value in defaults.items())
    settings.update(accelerator='nvidia', container_engine='docker')
    settings.update(overrides)
    return settings


def role_options():
    """The role's argument spec options (the settings' names, types and choices)."""
    with open(os.path.join(ROOT, 'roles', 'gpu_host_check', 'meta', 'argument_specs.yml')) as handle:
        return yaml.safe_load(handle)['argument_specs']['main']['options']


def problems(settings, prefix='gpu_host_check_'):
    return settings_problems(settings, role_options(), prefix)


EXPECT = role_settings(expected_gpu_count=2, gpu_model_pattern='H100', min_gpu_memory_mib=80000, min_driver_version='550.54.15',
                       min_cuda_version='12.4', min_model_cache_free_gb=100, min_shm_gb=16)


def test_the_settings_are_the_role_variables_and_the_role_passes_no_second_list():
    names = [name[len('gpu_host_check_'):] for name in role_options()]
    assert sorted(role_settings()) == sorted(names)
    # The role's task passes nothing: the action reads the variables the argument spec lists.
    with open(os.path.join(ROOT, 'roles', 'gpu_host_check', 'tasks', 'main.yml')) as handle:
        task = yaml.safe_load(handle)[0]['inferops.gpu_inference.gpu_host_check']
    assert task == {}
    assert problems(role_settings()) == []


def test_what_the_node_is_asked_for_follows_from_the_settings():
    args = gather_args(role_settings(dcgm_exporter_host='10.0.0.5', dcgm_exporter_port=9500, container_engine='none'))
    assert args['dcgm_exporter_url'] == 'http://10.0.0.5:9500/metrics'
    # Only the families it judges come back from the node.
    assert args['dcgm_exporter_metrics'] == ['DCGM_FI_DEV_GPU_UTIL', 'DCGM_FI_DEV_FB_USED']
    assert args['container_engines'] == ['docker', 'podman']
    assert gather_args(role_settings(container_engine='podman'))['container_engines'] == ['podman']
    assert gather_args(role_settings(dcgm_exporter=False))['dcgm_exporter_url'] == ''
    assert gather_args(role_settings(dcgm_exporter=False))['dcgm_exporter_metrics'] == []
    assert gather_args(role_settings(accelerator='cpu'))['dcgm_exporter_url'] == ''


def by_name(checks):
    return dict((c['check'], c) for c in checks)


def failed(checks):
    return sorted(c['check'] for c in checks if c['status'] == 'fail')


def test_healthy_host_passes_every_check():
    checks = gpu_host_checks(info(), EXPECT)
    assert failed(checks) == []
    assert checks_summary(checks)['fail'] == 0
    assert by_name(checks)['gpu_memory']['message'] == 'memory per GPU [81559] MiB; at least 80000 MiB expected'


@pytest.mark.parametrize('profile,expected', [
    ('{"gpus": 2, "set_gpu": {"1": {"ecc.errors.uncorrected.volatile.total": 4}}}', ['ecc_uncorrected']),
    ('{"gpus": 1}', ['gpu_count']),
    ('{"gpus": 2, "driver_version": "470.57.02", "cuda_version": "11.4"}', ['cuda_version', 'driver_version']),
    ('{"gpus": 2, "set": {"remapped_rows.pending": "Yes"}}', ['pending_retirement']),
    ('{"gpus": 2, "set": {"mig.mode.current": "Enabled"}}', ['mig_mode']),
    ('{"gpus": 2, "set": {"name": "NVIDIA A10G", "memory.total": "23028"}}', ['gpu_memory', 'gpu_model']),
])
def test_each_fault_fails_exactly_its_check(profile, expected):
    assert failed(gpu_host_checks(info(profile), EXPECT)) == expected


def test_persistence_off_is_a_warning_by_default_and_a_failure_when_asked():
    host = info('{"gpus": 2, "set": {"persistence_mode": "Disabled"}}')
    assert by_name(gpu_host_checks(host, EXPECT))['persistence_mode']['status'] == 'warn'
    assert by_name(gpu_host_checks(host, dict(EXPECT, persistence_mode='fail')))['persistence_mode']['status'] == 'fail'


def test_dcgm_missing_a_metric_for_the_gpus():
    checks = by_name(gpu_host_checks(info(omit=['DCGM_FI_DEV_FB_USED']), EXPECT))
    assert checks['dcgm_exporter_metrics']['status'] == 'fail'
    assert 'DCGM_FI_DEV_FB_USED for GPU 0, 1' in checks['dcgm_exporter_metrics']['message']


def test_dcgm_down():
    checks = by_name(gpu_host_checks(info(dcgm=False), EXPECT))
    assert checks['dcgm_exporter_metrics']['status'] == 'fail'
    assert checks['dcgm_exporter_service']['status'] == 'fail'
    assert 'inactive; active expected' in checks['dcgm_exporter_service']['message']


def test_nvidia_smi_missing_skips_the_gpu_checks():
    host = info()
    host['nvidia'] = {'ok': False, 'reason': 'nvidia_smi_missing', 'msg': 'nvidia-smi not found (nvidia-smi)'}
    checks = gpu_host_checks(host, EXPECT)
    assert failed(checks) == ['nvidia_smi']
    assert by_name(checks)['gpu_count']['status'] == 'skip'


def test_container_runtime_without_nvidia_runtime_or_cdi_fails_and_cdi_passes():
    host = info()
    host['container']['docker']['runtimes'] = ['runc']
    check = by_name(gpu_host_checks(host, EXPECT))['container_runtime']
    assert check['status'] == 'fail' and 'no nvidia runtime' in check['message']
    with open(os.path.join(DOUBLES, 'cdi', 'nvidia.yaml')) as handle:
        spec = cdi.parse_spec(handle.read())
    host['container']['cdi_specs'] = [dict(spec, path='/etc/cdi/nvidia.yaml')]
    check = by_name(gpu_host_checks(host, EXPECT))['container_runtime']
    assert check['status'] == 'ok' and '/etc/cdi/nvidia.yaml (0, 1, all)' in check['message']


def test_storage_thresholds():
    host = info()
    host['storage']['model_cache']['free_bytes'] = 20 * 1024 ** 3
    host['storage']['shm']['size_bytes'] = 64 * 1024 ** 2
    assert failed(gpu_host_checks(host, EXPECT)) == ['model_cache_disk', 'shm_size']


def test_missing_and_unknown_settings_are_named():
    settings = role_settings(gpu_cnt=2)
    del settings['min_shm_gb']
    text = ' | '.join(problems(settings))
    assert 'missing setting(s) gpu_host_check_min_shm_gb' in text
    assert 'unknown setting(s) gpu_host_check_gpu_cnt' in text
    # Names, types and choices come from the role's argument spec: the message names the variable and the value.
    assert problems(role_settings(mig_mode='on')) == ['value of gpu_host_check_mig_mode must be one of: disabled, enabled, any, got: on']
    assert problems(role_settings(no_foreign_processes='maybe'))[0].startswith("argument 'gpu_host_check_no_foreign_processes' is of type")
    assert problems(role_settings(dcgm_exporter_metrics={'a': 1}))[0].startswith("argument 'gpu_host_check_dcgm_exporter_metrics'")
    assert problems(role_settings(expected_gpu_count='2', defer_failure='yes', min_shm_gb='0.5')) == []
    with pytest.raises(ValueError, match='gpu_model_pattern'):
        gpu_host_checks(info(), dict(EXPECT, gpu_model_pattern='H100['))


def test_version_tuple():
    assert version_tuple('580.159.04') > version_tuple('550.54.15') > version_tuple('535')
    with pytest.raises(ValueError):
        version_tuple('12.x')


def test_cdi_json_spec():
    assert cdi.parse_spec('{"kind": "nvidia.com/gpu", "devices": [{"name": "0"}, {"name": "all"}]}') == {
        'kind': 'nvidia.com/gpu', 'devices': ['0', 'all']}


def test_fleet_report_orders_failures_first_and_lists_unchecked_hosts():
    ok = gpu_host_checks(info(), EXPECT)
    bad = gpu_host_checks(info('{"gpus": 1}'), EXPECT)
    hostvars = {'a-good': {'gpu_host_check_results': ok}, 'b-bad': {'gpu_host_check_results': bad}, 'c-gone': {}}
    report = preflight_fleet_report(['a-good', 'b-bad', 'c-gone'], hostvars)
    assert report['summary']['hosts_failing'] == ['b-bad', 'c-gone']
    assert [p['host'] for p in report['problems']] == ['b-bad', 'c-gone']
    md = preflight_markdown(copy.deepcopy(report))
    table = md.split('## Host x check')[1].strip().splitlines()
    assert table[0].startswith('| host | gpu_count | reachable |')
    assert table[-1].startswith('| a-good |')


def test_settings_problems_name_each_bad_setting():
    found = problems(role_settings(expected_gpu_count=-1, min_shm_gb='lots', dcgm_exporter_port='70000',
                                   min_driver_version='550.x', gpu_model_pattern='(', min_cuda_version='12.4'))
    text = ' | '.join(found)
    assert len(found) == 5, text
    assert 'gpu_host_check_expected_gpu_count=-1 must be 0 or more' in text
    assert "argument 'gpu_host_check_min_shm_gb' is of type" in text and 'convert to float' in text
    assert "(got 'lots')" in text
    assert 'gpu_host_check_dcgm_exporter_port=70000 must be a port from 1 to 65535' in text
    assert 'gpu_host_check_min_driver_version=550.x must be a dotted version' in text
    assert 'gpu_host_check_gpu_model_pattern=( is not a regular expression' in text
    assert problems(role_settings(expected_gpu_count=8, min_cuda_version='', dcgm_exporter_port=9400)) == []


def test_the_nodes_of_a_server_across_nodes_are_checked_as_a_whole():
    """GPU count, model, driver and CUDA alike on the nodes of one server; a node left out is said; others untouched."""
    two, one = gpu_host_checks(info(), EXPECT), gpu_host_checks(info('{"gpus": 1}'), EXPECT)
    group = ['lead', 'follow']

    def report(follow_checks, hosts=('lead', 'follow', 'alone')):
        hostvars = {'lead': {'gpu_host_check_results': two, 'vllm_server_nodes': group},
                    'follow': {'gpu_host_check_results': follow_checks, 'vllm_server_nodes': group},
                    'alone': {'gpu_host_check_results': two}}
        return preflight_fleet_report(list(hosts), hostvars)

    alike = report(two)
    assert [c['status'] for c in alike['hosts']['lead']['checks'] if c['check'] == 'server_group'] == ['ok']
    assert 'server_group' not in [c['check'] for c in alike['hosts']['alone']['checks']]
    assert alike['summary']['hosts_failing'] == []

    differ = report(one)  # the follower has 1 GPU (its own check fails too); the leader fails for the group alone
    assert differ['summary']['hosts_failing'] == ['follow', 'lead']
    assert differ['hosts']['lead']['should_fail'] and differ['hosts']['follow']['should_fail']
    assert not differ['hosts']['alone']['should_fail']
    message = [p['message'] for p in differ['problems'] if p['check'] == 'server_group'][0]
    assert message.startswith('the nodes of one server (lead, follow) must be alike; GPU count differs: 2 on lead, 1 on follow')

    limited = report(two, hosts=('lead', 'alone'))
    check = [c for c in limited['hosts']['lead']['checks'] if c['check'] == 'server_group'][0]
    assert check['status'] == 'warn' and check['message'].startswith('follow of the server across lead, follow not checked')

    # A node whose GPU checks did not run (unreachable, nvidia-smi silent) is not taken as alike.
    unchecked = report([{'check': 'nvidia_smi', 'status': 'fail', 'found': None, 'message': 'no answer'}])
    check = [c for c in unchecked['hosts']['lead']['checks'] if c['check'] == 'server_group'][0]
    assert check['status'] == 'warn' and check['message'].startswith('follow of the server across lead, follow not checked')

    # vllm_server_nodes as a comma-separated string, as the role's argument spec reads it.
    hostvars = {'lead': {'gpu_host_check_results': two, 'vllm_server_nodes': 'lead,follow'},
                'follow': {'gpu_host_check_results': one, 'vllm_server_nodes': 'lead,follow'}}
    assert preflight_fleet_report(['lead', 'follow'], hostvars)['summary']['hosts_failing'] == ['follow', 'lead']
