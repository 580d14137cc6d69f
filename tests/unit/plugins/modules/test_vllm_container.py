"""vllm_container run as a module against a docker stand-in that records what it was asked (the engine's
own behaviour is the Molecule scenarios'): the replace and the rollback, each in one run."""
import os

import pytest

from unit_support import fake_executable, run_module

# The engine stand-in: logs each argv; a container "exists" when a file of its name is in $STATE (inspect answers as
# docker does: /name|its fingerprint label).
ENGINE = r'''echo "$*" >> "$STATE/calls"
case "$1" in
  container) [ -e "$STATE/$5" ] && echo "/$5|fp-$5" || { echo "no such container" >&2; exit 1; } ;;
  logs) echo "INFO loading"; echo "ERROR CUDA out of memory" >&2 ;;
  rm) rm -f "$STATE/$3" ;;
  rename) mv "$STATE/$2" "$STATE/$3" ;;
  run) touch "$STATE/$4"; echo newid ;;
esac
'''


@pytest.fixture
def engine(tmp_path):
    bindir, state = tmp_path / 'bin', tmp_path / 'state'
    bindir.mkdir()
    state.mkdir()
    fake_executable(str(bindir), 'docker', ENGINE)
    env = {'PATH': '%s:%s' % (bindir, os.environ['PATH']), 'STATE': str(state)}

    def calls():
        return (state / 'calls').read_text().splitlines() if (state / 'calls').exists() else []
    return env, state, calls


def test_started_sets_the_running_one_aside_then_runs_the_new_one(engine):
    env, state, calls = engine
    (state / 'vllm').touch()
    result = run_module('vllm_container', {'name': 'vllm', 'set_aside': 'vllm-previous', 'image': 'vllm/vllm-openai:v1',
                                           'gpus': 'all', 'command': ['/models/m']}, env)
    assert result['_rc'] == 0 and result['set_aside'] and result['container_id'] == 'newid'
    assert [c.split()[0] for c in calls()] == ['container', 'rm', 'rename', 'stop', 'run']
    assert calls()[-1] == 'run -d --name vllm --pull missing --gpus all vllm/vllm-openai:v1 /models/m'
    assert (state / 'vllm').exists() and (state / 'vllm-previous').exists()


def test_restored_keeps_the_log_tail_and_puts_the_previous_one_back(engine, tmp_path):
    env, state, calls = engine
    (state / 'vllm').touch()
    (state / 'vllm-previous').touch()
    failed_log = tmp_path / 'failed.log'
    result = run_module('vllm_container', {'name': 'vllm', 'set_aside': 'vllm-previous', 'state': 'restored',
                                           'failed_log': str(failed_log)}, env)
    assert result['_rc'] == 0 and result['restored'] and result['changed']
    assert 'ERROR CUDA out of memory' in result['log_tail'] and 'CUDA out of memory' in failed_log.read_text()
    assert calls()[-3:] == ['rm -f vllm', 'rename vllm-previous vllm', 'start vllm']
    assert (state / 'vllm').exists() and not (state / 'vllm-previous').exists()


def test_restored_in_check_mode_changes_nothing(engine):
    env, state, calls = engine
    (state / 'vllm').touch()
    (state / 'vllm-previous').touch()
    result = run_module('vllm_container', {'name': 'vllm', 'set_aside': 'vllm-previous', 'state': 'restored'}, env, check_mode=True)
    assert result['_rc'] == 0 and result['restored']
    assert [c.split()[0] for c in calls()] == ['logs', 'container']


def test_started_needs_an_image_and_names_it(engine):
    env, dummy, calls = engine
    result = run_module('vllm_container', {'name': 'vllm'}, env)
    assert result['_rc'] == 1 and 'image' in result['msg'] and calls() == []


def test_absent_on_a_host_without_the_engine_has_nothing_to_remove(tmp_path):
    env = {'PATH': str(tmp_path)}  # no docker, no podman
    for runtime in ('docker', 'podman'):
        result = run_module('vllm_container', {'name': 'vllm', 'set_aside': 'vllm-previous', 'state': 'absent', 'runtime': runtime}, env)
        assert result['_rc'] == 0 and result['changed'] is False and result['removed'] == [], result
        assert result['msg'] == '%s is not installed on this host: no container to remove' % runtime
    started = run_module('vllm_container', {'name': 'vllm', 'image': 'vllm/vllm-openai:v1', 'runtime': 'podman'}, env)
    assert started['failed'] and 'podman' in started['msg']
