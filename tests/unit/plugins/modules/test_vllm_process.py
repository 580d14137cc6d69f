"""vllm_process: what it does with its arguments. What the node lacks (the executable, supervisord) is reported as
`missing` and nothing changes; under systemd (a recording systemctl stand-in on PATH; the module run as on a node)
the replace writes the unit and restarts it, a failure still returns the previous file, check mode runs nothing, and
restored puts the previous file back or removes it. Under supervisord the module runs in-process against a real
supervisord that it starts itself on a socket in a temporary folder (as on a pod where none ran)."""
import json
import os
import sys
import time

import pytest
try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core before 2.19 (tests/versions.sh): its modules read their arguments from basic._ANSIBLE_ARGS
    import contextlib

    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    @contextlib.contextmanager
    def patch_module_args(args):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved

from unit_support import fake_executable, run_module, supervisord_config
from ansible_collections.inferops.gpu_inference.plugins.modules import vllm_process
from ansible_collections.inferops.gpu_inference.plugins.module_utils import process_manager
from ansible_collections.inferops.gpu_inference.plugins.module_utils.supervisor_rpc import Supervisor

SUPERVISORD_DIR = os.path.dirname(sys.executable)  # the venv's supervisord
UNIT = '[Unit]\nDescription=vLLM {}\n[Service]\nExecStart=/opt/vllm/bin/vllm serve /models/{}\n'
PROGRAM = """[program:vllm]
command={python} -c "import time; print('{word}', flush=True); time.sleep(600)"
autostart=true
autorestart=false
startsecs=0
stopwaitsecs=5
stdout_logfile={log}
"""


# systemd, the module run as on a node ------------------------------------------------------------------------------

@pytest.fixture
def systemd(tmp_path):
    """A systemctl stand-in on PATH that logs each call (and fails the verb in $FAIL); returns (env, unit path, calls)."""
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    fake_executable(str(bindir), 'systemctl', 'echo "$*" >> "%s/calls"\n[ "$1" = "$FAIL" ] && { echo "Failed to $1 $2" >&2; exit 1; }\nexit 0\n'
                    % tmp_path)
    env = {'PATH': '%s:/usr/bin:/bin' % bindir, 'FAIL': ''}

    def calls():
        return (tmp_path / 'calls').read_text().splitlines() if (tmp_path / 'calls').exists() else []
    return env, tmp_path / 'system' / 'vllm.service', calls


def args(unit, **more):
    return dict({'manager': 'systemd', 'name': 'vllm', 'unit_file': str(unit)}, **more)


def test_a_missing_executable_is_reported_and_nothing_changes(systemd, tmp_path):
    env, unit, calls = systemd
    unit.parent.mkdir()
    unit.write_text(UNIT.format('old', 'a'))
    result = run_module('vllm_process', args(unit, content=UNIT.format('new', 'b'), executable=str(tmp_path / 'venv' / 'bin' / 'vllm')), env)
    assert result['_rc'] == 0 and result['changed'] is False and result['missing'] == ['executable']
    assert result['previous'] == UNIT.format('old', 'a') and result['set_aside'] is False
    assert unit.read_text() == UNIT.format('old', 'a') and calls() == []
    # Check mode installs nothing, so the role's second run finds it missing too: each says the server would be started.
    checked = run_module('vllm_process', args(unit, content=UNIT.format('new', 'b'), executable=str(tmp_path / 'venv' / 'bin' / 'vllm')),
                         env, check_mode=True)
    assert checked['_rc'] == 0 and checked['changed'] is True and checked['missing'] == ['executable']
    assert unit.read_text() == UNIT.format('old', 'a') and calls() == []


def test_started_writes_the_unit_restarts_it_and_returns_the_previous_one(systemd, tmp_path):
    env, unit, calls = systemd
    log = tmp_path / 'server.log'
    first = run_module('vllm_process', args(unit, content=UNIT.format('one', 'a'), executable=sys.executable, log_file=str(log)), env)
    assert first['_rc'] == 0 and first['changed'] and first['missing'] == []
    assert first['previous'] == '' and first['set_aside'] is False and first['log_offset'] == 0
    assert unit.read_text() == UNIT.format('one', 'a')
    assert calls() == ['daemon-reload', 'enable vllm', 'restart vllm']

    log.write_text('the first server wrote this\n')
    second = run_module('vllm_process', args(unit, content=UNIT.format('two', 'b'), log_file=str(log)), env)
    assert second['previous'] == UNIT.format('one', 'a') and second['set_aside'] is True
    assert second['log_offset'] == len('the first server wrote this\n') and second['supervisord_started'] is False
    assert unit.read_text() == UNIT.format('two', 'b')
    assert calls()[3:] == ['stop vllm', 'daemon-reload', 'enable vllm', 'restart vllm']


def test_without_log_file_there_is_no_log_offset(systemd):
    env, unit, dummy = systemd
    result = run_module('vllm_process', args(unit, content=UNIT.format('one', 'a')), env)
    assert result['_rc'] == 0 and 'log_offset' not in result


def test_a_failed_restart_still_returns_the_previous_file(systemd):
    env, unit, dummy = systemd
    unit.parent.mkdir()
    unit.write_text(UNIT.format('old', 'a'))
    result = run_module('vllm_process', args(unit, content=UNIT.format('new', 'b')), dict(env, FAIL='restart'))
    assert result['_rc'] == 1 and result['failed']
    assert 'systemctl restart vllm failed' in result['msg'] and 'Failed to restart vllm' in result['msg']
    assert result['previous'] == UNIT.format('old', 'a')


def test_check_mode_reads_but_runs_and_writes_nothing(systemd):
    env, unit, calls = systemd
    unit.parent.mkdir()
    unit.write_text(UNIT.format('old', 'a'))
    result = run_module('vllm_process', args(unit, content=UNIT.format('new', 'b')), env, check_mode=True)
    assert result['_rc'] == 0 and result['previous'] == UNIT.format('old', 'a') and result['set_aside'] is True
    assert unit.read_text() == UNIT.format('old', 'a') and calls() == []


def test_restored_puts_the_previous_unit_back_and_starts_it(systemd):
    env, unit, calls = systemd
    unit.parent.mkdir()
    unit.write_text(UNIT.format('failed', 'b'))
    result = run_module('vllm_process', args(unit, state='restored', previous=UNIT.format('old', 'a')), env)
    assert result['_rc'] == 0 and result['changed'] and result['restored'] is True and result['missing'] == []
    assert unit.read_text() == UNIT.format('old', 'a')
    assert calls() == ['stop vllm', 'daemon-reload', 'enable vllm', 'restart vllm']


def test_absent_stops_and_removes_our_unit_then_changes_nothing(systemd):
    env, unit, calls = systemd
    unit.parent.mkdir()
    unit.write_text('# inferops.gpu_inference.vllm_server fingerprint abc123\n' + UNIT.format('ours', 'a'))
    result = run_module('vllm_process', args(unit, state='absent'), env)
    assert result['_rc'] == 0 and result['changed'] and not unit.exists()
    assert calls() == ['stop vllm', 'disable vllm', 'daemon-reload']
    again = run_module('vllm_process', args(unit, state='absent'), env)
    assert again['_rc'] == 0 and not again['changed'] and len(calls()) == 3


def test_absent_leaves_a_unit_vllm_server_did_not_write(systemd):
    env, unit, calls = systemd
    unit.parent.mkdir()
    unit.write_text(UNIT.format('someone else', 'a'))
    result = run_module('vllm_process', args(unit, state='absent'), env)
    assert result['_rc'] == 1 and 'was not written by vllm_server' in result['msg'] and unit.exists() and calls() == []


def test_restored_without_a_previous_unit_removes_it(systemd):
    env, unit, calls = systemd
    unit.parent.mkdir()
    unit.write_text(UNIT.format('failed', 'b'))
    result = run_module('vllm_process', args(unit, state='restored'), env)
    assert result['_rc'] == 0 and result['restored'] is False and not unit.exists()
    assert calls() == ['stop vllm', 'disable vllm', 'daemon-reload']


@pytest.mark.parametrize('bad, words', [({'content': None}, 'content'), ({'name': 'vllm; reboot'}, 'not a plain name'),
                                        ({'manager': 'runit'}, 'manager')])
def test_bad_arguments_fail_before_anything_runs(systemd, bad, words):
    env, unit, calls = systemd
    module_args = dict(args(unit, content=UNIT.format('x', 'y')), **bad)
    result = run_module('vllm_process', dict((k, v) for k, v in module_args.items() if v is not None), env)
    assert result['_rc'] == 1 and words in result['msg'] and calls() == [] and not unit.exists()


def test_content_given_as_null_fails_cleanly_without_stopping_the_server(systemd):
    env, unit, calls = systemd
    unit.parent.mkdir()
    unit.write_text(UNIT.format('old', 'a'))
    result = run_module('vllm_process', args(unit, content=None), env)
    assert result['_rc'] == 1 and 'content is empty' in result['msg'] and calls() == []
    assert 'old' in unit.read_text()


# supervisord, the module in-process -------------------------------------------------------------------------------

def run_in_process(capsys, module_args, check_mode=False):
    with patch_module_args(dict(module_args, _ansible_check_mode=check_mode)):
        with pytest.raises(SystemExit) as exited:
            vllm_process.main()
    result = json.loads(capsys.readouterr().out)
    result['_rc'] = exited.value.code
    return result


@pytest.fixture
def sup(tmp_path, monkeypatch):
    """supervisord's configuration path and socket in a short temporary folder; supervisord stopped at the end."""
    short = tmp_path / 's'  # a UNIX socket path must stay short
    short.mkdir()
    monkeypatch.setattr(process_manager, 'SUPERVISORD_CONFIG', str(short / 'etc' / 'supervisord.conf'))
    rpc = Supervisor(str(short / 'supervisor.sock'), timeout=10)
    config = supervisord_config(short)
    yield short, rpc, config
    if rpc.running():
        rpc.shutdown()


def sup_args(short, **more):
    # supervisord's files in a folder of its own, as a user without root has them (vllm_server_supervisor_dir).
    return dict({'manager': 'supervisor', 'name': 'vllm', 'unit_file': str(short / 'conf.d' / 'vllm.conf'),
                 'supervisor_socket': str(short / 'supervisor.sock'),
                 'supervisord_config_file': str(short / 'etc' / 'supervisord.conf')}, **more)


def wait_running(rpc, timeout=10):
    deadline = time.time() + timeout
    while rpc.state('vllm') != 'RUNNING' and time.time() < deadline:
        time.sleep(0.05)
    return rpc.state('vllm')


def test_supervisord_and_the_executable_missing_are_both_reported(sup, tmp_path, monkeypatch, capsys):
    short, rpc, config = sup
    monkeypatch.setenv('PATH', str(tmp_path / 'empty'))
    monkeypatch.setattr(vllm_process.AnsibleModule, 'get_bin_path', lambda self, name, *a, **k: None)
    result = run_in_process(capsys, sup_args(short, content='[program:vllm]\n', executable=str(tmp_path / 'no-vllm'),
                                             supervisord_config=config))
    assert result['_rc'] == 0 and result['changed'] is False
    assert result['missing'] == ['executable', 'supervisord'] and result['supervisord_started'] is False
    assert not rpc.running() and os.listdir(str(short)) == []  # no configuration, no program file, no supervisord


def test_started_starts_supervisord_then_the_program_and_restored_puts_the_first_back(sup, monkeypatch, capsys):
    short, rpc, config = sup
    monkeypatch.setenv('PATH', SUPERVISORD_DIR + os.pathsep + os.environ['PATH'])
    log = short / 'vllm.log'
    first_program = PROGRAM.format(python=sys.executable, word='first', log=log)
    first = run_in_process(capsys, sup_args(short, content=first_program, executable=sys.executable, supervisord_config=config,
                                            log_file=str(log)))
    assert first['_rc'] == 0 and first['changed'] and first['supervisord_started'] is True and first['missing'] == []
    assert first['previous'] == '' and first['set_aside'] is False
    assert open(process_manager.SUPERVISORD_CONFIG).read() == config
    assert wait_running(rpc) == 'RUNNING'
    pid = rpc.pid('vllm')

    second = run_in_process(capsys, sup_args(short, content=PROGRAM.format(python=sys.executable, word='second', log=log),
                                             log_file=str(log)))
    assert second['_rc'] == 0 and second['supervisord_started'] is False and second['set_aside'] is True
    assert second['previous'] == first_program
    assert wait_running(rpc) == 'RUNNING' and rpc.pid('vllm') != pid

    restored = run_in_process(capsys, sup_args(short, state='restored', previous=first_program))
    assert restored['_rc'] == 0 and restored['restored'] is True
    assert (short / 'conf.d' / 'vllm.conf').read_text() == first_program and wait_running(rpc) == 'RUNNING'

    removed = run_in_process(capsys, sup_args(short, state='restored'))
    assert removed['restored'] is False and not (short / 'conf.d' / 'vllm.conf').exists() and rpc.state('vllm') == 'ABSENT'


def test_supervisord_installed_beside_vllm_is_found_off_the_path(sup, tmp_path, monkeypatch, capsys):
    # A user without root: supervisord installed with pip into vLLM's virtualenv, not on the PATH; its files in a folder of
    # the user's own (the configuration written there, the socket there).
    short, rpc, config = sup
    monkeypatch.setenv('PATH', str(tmp_path / 'empty'))
    assert os.path.exists(os.path.join(SUPERVISORD_DIR, 'supervisord'))
    log = short / 'vllm.log'
    result = run_in_process(capsys, sup_args(short, content=PROGRAM.format(python=sys.executable, word='venv', log=log),
                                             executable=sys.executable, supervisord_config=config, log_file=str(log)))
    assert result['_rc'] == 0 and result['supervisord_started'] is True and result['missing'] == []
    assert (short / 'etc' / 'supervisord.conf').read_text() == config
    assert wait_running(rpc) == 'RUNNING'


def test_what_is_missing_says_whether_the_module_runs_as_root(sup, tmp_path, monkeypatch, capsys):
    short, rpc, config = sup
    monkeypatch.setattr(vllm_process.AnsibleModule, 'get_bin_path', lambda self, name, *a, **k: None)
    monkeypatch.setattr(vllm_process.os, 'geteuid', lambda: 1000)
    result = run_in_process(capsys, sup_args(short, content='[program:vllm]\n', executable=sys.executable, supervisord_config=config))
    assert result['missing'] == ['supervisord'] and result['root'] is False
