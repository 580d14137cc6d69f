"""The gpu_host_check action on the controller: validate, read the node once, judge.

The action runs as Ansible runs it, except for the connection: its one module run is
gpu_host_info run for real as a process on this machine (unit_support.run_module), where
nvidia-smi is the test double replaying real H100 captures (the one binary missing here).
"""


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
    # Each fact once: the GPUs are not kept a second time in what was read.
    nvidia = facts['gpu_host_check_info']['nvidia']
    assert 'gpus' not in nvidia and nvidia['gpu_count'] == 2 and nvidia['driver_version']


def test_a_fault_fails_the_host_naming_its_check_or_waits_for_the_fleet_report(run_action):
    ecc = '{"gpus": 2, "set_gpu": {"1": {"ecc.errors.uncorrected.volatile.total": 4}}}'
    result, calls = run_action(profile=ecc)
    assert result['failed'] and result['summary']['failed'] == ['ecc_uncorrected']
    assert result['msg'].startswith('node1: preflight failed (1 failed') and 'ecc_uncorrected' in result['msg']
    deferred, dummy = run_action(profile=ecc, defer_failure=True)
    assert not deferred.get('failed') and deferred['should_fail'] is True
    reported, dummy = run_action(profile=ecc, fail_on='never')
    assert not reported.get('failed') and reported['should_fail'] is False and reported['warnings']


def test_the_settings_are_the_role_variables_templated(run_action):
    # gpu_host_check_accelerator's default is a template over the fleet-wide inferops_accelerator.
    cpu, calls = run_action(fleet_vars={'inferops_accelerator': 'cpu'}, dcgm_exporter=True)
    assert not cpu.get('failed'), cpu.get('msg')
    checks = dict((c['check'], c['status']) for c in cpu['checks'])
    assert checks['gpus'] == 'skip' and 'gpu_count' not in checks and calls[0][1]['dcgm_exporter_url'] == ''
    gpu, calls = run_action(dcgm_exporter=True)
    assert dict((c['check'], c['status']) for c in gpu['checks'])['gpu_count'] == 'ok'
    assert calls[0][1]['dcgm_exporter_url'] == 'http://127.0.0.1:9400/metrics'


def test_a_mistyped_setting_is_named_with_the_closest_before_the_node_is_read(run_action):
    result, calls = run_action(fleet_vars={'gpu_host_check_min_gpu_memory': 10240})
    assert result['failed'] and calls == []
    assert result['msg'].endswith('gpu_host_check_min_gpu_memory is not a variable of the role gpu_host_check '
                                  '(did you mean gpu_host_check_min_gpu_memory_mib?)')
    # The facts a run set (a second preflight in the same play reads them) are not settings.
    outputs = {'gpu_host_check_results': [], 'gpu_host_check_summary': {}, 'gpu_host_check_gpus': [],
               'gpu_host_check_info': {}, 'gpu_host_check_should_fail': False}
    result, calls = run_action(fleet_vars=outputs)
    assert not result.get('failed'), result.get('msg')
