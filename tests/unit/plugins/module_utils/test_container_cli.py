"""container_cli: the run arguments, the set-aside-then-start sequence and its rollback, against a recording fake engine."""
import pytest

from ansible_collections.inferops.gpu_inference.plugins.module_utils.container_cli import (
    INSPECT_FORMAT, ContainerError, remove, replace, restore, run_args)

SPEC = {'name': 'vllm', 'image': 'vllm/vllm-openai:v0.11.0', 'pull': 'never', 'command': ['/models/m', '--port=8000'],
        'env': {'HF_HOME': '/hf', 'A': '1'}, 'volumes': ['/h:/c:ro'], 'ports': ['127.0.0.1:8000:8000'],
        'gpus': '"device=0,1"', 'ipc': 'host', 'ulimits': ['memlock=-1:-1'], 'restart_policy': 'unless-stopped',
        'labels': {'fp': 'abc'}}


class Engine(object):
    """Records each argv; `exists` says whether `container inspect` finds the container; `fail` names a verb that fails."""

    def __init__(self, exists, fail=None, label='abc123', name=None):
        self.calls, self.exists, self.fail, self.label, self.name = [], exists, fail, label, name

    def __call__(self, argv):
        self.calls.append(argv)
        if argv[0] == 'container':
            # docker reports the name with a leading /; an ID prefix match reports another name.
            return (0, '/%s|%s\n' % (self.name or argv[-1], self.label), '') if self.exists else (1, '', 'no such container')
        if argv[0] == 'logs':
            return 0, 'INFO started\n', 'ERROR CUDA out of memory\n'
        if argv[0] == self.fail:
            return 1, '', 'Error: %s went wrong' % argv[0]
        if argv[0] == self.fail:
            return 1, '', 'Error: %s went wrong' % argv[0]
        return 0, 'newid\n' if argv[0] == 'run' else '', ''


def test_run_args_docker_gpus_and_everything_in_order():
    args = run_args(SPEC)
    assert args[:6] == ['run', '-d', '--name', 'vllm', '--pull', 'never']
    assert args[-3:] == ['vllm/vllm-openai:v0.11.0', '/models/m', '--port=8000']
    joined = ' '.join(args)
    for part in ('--label fp=abc', '--env A=1 --env HF_HOME=/hf', '--volume /h:/c:ro', '--publish 127.0.0.1:8000:8000',
                 '--gpus "device=0,1"', '--ipc host', '--ulimit memlock=-1:-1', '--restart unless-stopped'):
        assert part in joined
    assert '--network' not in args and '--shm-size' not in args and '--device' not in args


def test_run_args_podman_cdi_devices_and_host_network():
    args = run_args({'name': 'v', 'image': 'i:1', 'network': 'host', 'devices': ['nvidia.com/gpu=0', 'nvidia.com/gpu=1'],
                     'shm_size': '16g'})
    assert ' '.join(args) == ('run -d --name v --pull missing --network host --device nvidia.com/gpu=0 '
                              '--device nvidia.com/gpu=1 --shm-size 16g i:1')


def test_sets_the_running_one_aside_stops_it_then_starts_the_new_one():
    engine = Engine(exists=True)
    sizes = []
    result = replace(engine, SPEC, 'vllm-previous', 30, log_size=lambda: sizes.append(len(engine.calls)) or 1234)
    verbs = [c[0] for c in engine.calls]
    assert verbs == ['container', 'rm', 'rename', 'stop', 'run']
    assert engine.calls[1] == ['rm', '-f', 'vllm-previous']
    assert engine.calls[2] == ['rename', 'vllm', 'vllm-previous']
    assert engine.calls[3] == ['stop', '-t', '30', 'vllm-previous']
    assert sizes == [4]  # the log size is read after the stop, before the start
    assert result['set_aside'] and result['log_offset'] == 1234 and result['container_id'] == 'newid'


def test_nothing_running_only_starts():
    engine = Engine(exists=False)
    result = replace(engine, SPEC, 'vllm-previous', 30)
    assert [c[0] for c in engine.calls] == ['container', 'run'] and not result['set_aside']


def test_check_mode_only_looks():
    engine = Engine(exists=True)
    result = replace(engine, SPEC, 'vllm-previous', 30, log_size=lambda: 7, check_mode=True)
    assert [c[0] for c in engine.calls] == ['container'] and result['set_aside'] and result['changed']
    assert result['log_offset'] == 7


def test_a_failing_step_is_named_with_the_engine_error():
    with pytest.raises(ContainerError, match='could not stop vllm-previous: Error: stop went wrong'):
        replace(Engine(exists=True, fail='stop'), SPEC, 'vllm-previous', 30)


def test_an_existing_container_without_a_set_aside_name_is_refused():
    engine = Engine(exists=True)
    with pytest.raises(ContainerError, match='exists and no set_aside name'):
        replace(engine, SPEC, '', 30)
    assert [c[0] for c in engine.calls] == ['container']


def test_restore_keeps_the_log_tail_removes_the_failed_one_and_puts_the_previous_one_back():
    engine = Engine(exists=True)
    result = restore(engine, 'vllm', 'vllm-previous')
    assert engine.calls == [['logs', '--tail', '80', 'vllm'], ['container', 'inspect', '--format', INSPECT_FORMAT, 'vllm-previous'],
                            ['rm', '-f', 'vllm'], ['rename', 'vllm-previous', 'vllm'], ['start', 'vllm']]
    assert result['restored'] and result['log_tail'] == ['INFO started', 'ERROR CUDA out of memory']


def test_restore_with_nothing_set_aside_only_removes_the_failed_one():
    for set_aside, exists in (('', True), ('vllm-previous', False)):
        engine = Engine(exists=exists)
        result = restore(engine, 'vllm', set_aside)
        assert [c[0] for c in engine.calls if c[0] not in ('logs', 'container')] == ['rm'] and not result['restored']


def test_restore_in_check_mode_changes_nothing_and_a_failed_step_is_named():
    engine = Engine(exists=True)
    assert restore(engine, 'vllm', 'vllm-previous', check_mode=True)['restored']
    assert [c[0] for c in engine.calls] == ['logs', 'container']
    with pytest.raises(ContainerError, match='rename vllm-previous back to vllm'):
        restore(Engine(exists=True, fail='rename'), 'vllm', 'vllm-previous')


def test_remove_stops_and_removes_ours_only_and_changes_nothing_in_check_mode():
    engine = Engine(exists=True)
    assert remove(engine, ['vllm', 'vllm-previous'], 30, check_mode=True) == {'changed': True, 'removed': ['vllm', 'vllm-previous']}
    assert [c[0] for c in engine.calls] == ['container', 'container']
    engine = Engine(exists=True)
    assert remove(engine, ['vllm', 'vllm-previous'], 30)['removed'] == ['vllm', 'vllm-previous']
    assert [c for c in engine.calls if c[0] != 'container'] == [['stop', '-t', '30', 'vllm'], ['rm', '-f', 'vllm'],
                                                                ['stop', '-t', '30', 'vllm-previous'], ['rm', '-f', 'vllm-previous']]


def test_remove_leaves_a_container_vllm_server_did_not_start_and_one_found_by_an_id_prefix():
    engine = Engine(exists=True, label='')
    with pytest.raises(ContainerError, match='not started by vllm_server'):
        remove(engine, ['a100', ''], 30)
    assert [c[0] for c in engine.calls] == ['container']
    engine = Engine(exists=True, name='a100f00dcafe-unrelated')  # `inspect a100` matched another container's ID
    assert remove(engine, ['a100'], 30) == {'changed': False, 'removed': []}
    assert [c[0] for c in engine.calls] == ['container']
