"""The vllm_evidence action: a node's evidence files written on the controller in one task."""
import os

from ansible_collections.inferops.gpu_inference.plugins.action.vllm_evidence import ActionModule
from unit_support import make_action


def test_writes_every_file_and_says_which_changed(tmp_path):
    dest = str(tmp_path / 'evidence' / 'node1')
    files = {'deployment.json': '{"host": "node1"}\n', 'processes.txt': 'PID USER\n'}
    result = make_action(ActionModule, {'dest': dest, 'files': files}).run(task_vars={})
    assert not result.get('failed'), result.get('msg')
    assert result['changed'] and result['changed_files'] == ['deployment.json', 'processes.txt']
    assert {name: open(os.path.join(dest, name)).read() for name in os.listdir(dest)} == files
    # The same texts again: nothing is written; one that differs is replaced whole.
    result = make_action(ActionModule, {'dest': dest, 'files': files}).run(task_vars={})
    assert not result['changed'] and result['changed_files'] == []
    result = make_action(ActionModule, {'dest': dest, 'files': dict(files, **{'processes.txt': 'PID\n'})}).run(task_vars={})
    assert result['changed_files'] == ['processes.txt'] and open(os.path.join(dest, 'processes.txt')).read() == 'PID\n'
    assert sorted(os.listdir(dest)) == ['deployment.json', 'processes.txt']  # no temporary file left
    assert 'PID' not in str(result)  # the texts are not returned


def test_a_name_that_is_not_a_file_name_is_refused_and_nothing_is_written(tmp_path):
    for name in ('../escape.txt', 'a/b', '..', ''):
        result = make_action(ActionModule, {'dest': str(tmp_path / 'e'), 'files': {'ok.txt': 'x', name: 'y'}}).run(task_vars={})
        assert result['failed'] and repr(name) in result['msg'] and 'dest' in result['msg']
    assert not os.path.exists(str(tmp_path / 'e')) and not os.path.exists(str(tmp_path / 'escape.txt'))


def test_check_mode_writes_nothing(tmp_path):
    result = make_action(ActionModule, {'dest': str(tmp_path / 'e'), 'files': {'a.txt': 'x'}}, check_mode=True).run(task_vars={})
    assert not result['changed'] and 'would write 1 file' in result['msg']
    assert not os.path.exists(str(tmp_path / 'e'))


def test_a_folder_that_cannot_be_made_fails_naming_it(tmp_path):
    (tmp_path / 'file').write_text('')
    result = make_action(ActionModule, {'dest': str(tmp_path / 'file' / 'node1'), 'files': {'a.txt': 'x'}}).run(task_vars={})
    assert result['failed'] and str(tmp_path / 'file' / 'node1') in result['msg']


def test_data_is_written_as_json_and_carriage_returns_compare_as_they_are(tmp_path):
    dest = str(tmp_path / 'e')
    files = {'nvidia-smi.json': {'gpus': [0, 1]}, 'server-log-tail.txt': 'Loading 50%\rLoading 100%\n'}
    result = make_action(ActionModule, {'dest': dest, 'files': files}).run(task_vars={})
    assert open(os.path.join(dest, 'nvidia-smi.json')).read() == '{\n    "gpus": [\n        0,\n        1\n    ]\n}\n'
    with open(os.path.join(dest, 'server-log-tail.txt'), newline='') as handle:
        assert handle.read() == files['server-log-tail.txt']
    # The same again changes nothing (a progress bar's carriage return compares as it is).
    assert make_action(ActionModule, {'dest': dest, 'files': files}).run(task_vars={})['changed_files'] == []
