"""Bad input to gpu_host_check fails before the host is read, naming the variable.

Through playbooks/preflight.yml, as users run it: there the role's task checks its settings
against the role's argument spec itself (Ansible's validation task is turned off), so every
case below fails unless that check is whole.
"""
import pytest

# At -vvv ansible-playbook names every module it builds to ship to the host (with or
# without pipelining: "Using module file .../plugins/modules/gpu_host_info.py").
GATHER_MODULE = 'modules/gpu_host_info.py'
PREFLIGHT = 'playbooks/preflight.yml'
VALIDATION_TASK = "Validating arguments against arg spec 'main'"

CASES = [
    # (variable, bad value, words the error must contain)
    ('gpu_host_check_fail_on', 'sometimes', ['gpu_host_check_fail_on', 'fail, warn, never']),
    ('gpu_host_check_expected_gpu_count', 'many', ['gpu_host_check_expected_gpu_count', 'int']),
    ('gpu_host_check_expected_gpu_count', -1, ['gpu_host_check_expected_gpu_count=-1', '0 or more']),
    ('gpu_host_check_min_gpu_memory_mib', -5, ['gpu_host_check_min_gpu_memory_mib=-5', '0 or more']),
    ('gpu_host_check_min_driver_version', '550.x', ['gpu_host_check_min_driver_version=550.x', 'dotted version']),
    ('gpu_host_check_min_cuda_version', 'twelve', ['gpu_host_check_min_cuda_version=twelve', 'dotted version']),
    ('gpu_host_check_dcgm_exporter_port', 70000, ['gpu_host_check_dcgm_exporter_port=70000', '1 to 65535']),
    ('gpu_host_check_dcgm_exporter_port', 0, ['gpu_host_check_dcgm_exporter_port=0', '1 to 65535']),
    ('gpu_host_check_mig_mode', 'maybe', ['gpu_host_check_mig_mode', 'disabled, enabled, any']),
    ('gpu_host_check_container_engine', 'lxc', ['gpu_host_check_container_engine', 'docker, podman, any, none']),
    ('gpu_host_check_persistence_mode', 'often', ['gpu_host_check_persistence_mode', 'fail, warn, ignore']),
    ('gpu_host_check_min_shm_gb', -1, ['gpu_host_check_min_shm_gb=-1', '0 or more']),
    ('gpu_host_check_min_model_cache_free_gb', 'lots', ['gpu_host_check_min_model_cache_free_gb', 'float']),
    ('gpu_host_check_do_agent', 'perhaps', ['gpu_host_check_do_agent', 'bool']),
    # A mistyped setting (guide 004's 10 GB without the unit), which Ansible alone would ignore.
    ('gpu_host_check_min_gpu_memory', 10240, ['gpu_host_check_min_gpu_memory is not a variable of the role gpu_host_check',
                                              'did you mean gpu_host_check_min_gpu_memory_mib?']),
]


@pytest.mark.parametrize('var,value,words', CASES, ids=['%s=%s' % (c[0][len('gpu_host_check_'):], c[1]) for c in CASES])
def test_bad_input_fails_before_touching_the_host(playbook, var, value, words):
    rc, out = playbook(PREFLIGHT, {var: value, 'inferops_hosts': 'localhost'}, ['-vvv'])
    assert rc != 0, out
    flat = ' '.join(out.split())
    for word in words:
        assert word in flat, 'expected %r in:\n%s' % (word, out)
    assert GATHER_MODULE not in out, 'the host was read before the input was rejected:\n' + out


def test_good_input_reads_the_host(playbook):
    """The counterpart: with valid settings the module does run (so the check above can fail)."""
    rc, out = playbook(PREFLIGHT, {'gpu_host_check_fail_on': 'never', 'inferops_hosts': 'localhost'}, ['-vvv'])
    assert rc == 0, out
    assert GATHER_MODULE in out
    # One way to validate: Ansible's own argument-spec validation stays on in the collection's playbooks too.
    assert VALIDATION_TASK in out, "preflight.yml turned Ansible's argument-spec validation off"


def test_the_role_used_directly_keeps_ansibles_validation(playbook):
    """A playbook of the user's own that lists the role gets Ansible's argument-spec task too."""
    rc, out = playbook('tests/integration/gpu_host_check_local.yml', {'gpu_host_check_do_agent': 'perhaps'}, ['-vvv'])
    assert rc != 0, out
    assert VALIDATION_TASK in out
    assert GATHER_MODULE not in out
