"""process_manager (vllm_process): replace and restore under a real supervisord (started on a socket in a temporary
folder; supervisor_rpc drives it as on a node) and under systemd (a recording fake systemctl: no systemd runs here);
names that are not plain names refused."""
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.inferops.gpu_inference.plugins.module_utils import process_manager
from ansible_collections.inferops.gpu_inference.plugins.module_utils.process_manager import (
    Manager, ProcessError, replace, restore)
from ansible_collections.inferops.gpu_inference.plugins.module_utils.supervisor_rpc import Supervisor
from unit_support import supervisord_config

SUPERVISORD = os.path.join(os.path.dirname(sys.executable), 'supervisord')
PROGRAM = """[program:{name}]
command={python} -c "import time; print('{word}', flush=True); time.sleep(600)"
autostart=true
autorestart=false
startsecs=0
stopwaitsecs=5
stdout_logfile={log}
"""


class Systemctl(object):
    """Records each argv; `fail` names a verb that fails."""

    def __init__(self, fail=None):
        self.calls, self.fail = [], fail

    def __call__(self, argv):
        self.calls.append(argv)
        if len(argv) > 1 and argv[1] == self.fail:
            return 1, '', 'Failed to %s' % argv[1]
        return 0, '', ''


@pytest.fixture
def sup(tmp_path, monkeypatch):
    """A Manager for program `vllm` under a supervisord that vllm_process's start_supervisord starts (as on a pod
    where it did not run), stopped at the end."""
    short = tmp_path / 's'  # a UNIX socket path must stay short
    short.mkdir()
    monkeypatch.setattr(process_manager, 'SUPERVISORD_CONFIG', str(short / 'supervisord.conf'))
    monkeypatch.setenv('PATH', os.path.dirname(SUPERVISORD) + os.pathsep + os.environ['PATH'])

    def run(argv):
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr

    mgr = Manager('supervisor', 'vllm', str(short / 'conf.d' / 'vllm.conf'), run, False,
                  Supervisor(str(short / 'supervisor.sock'), timeout=10))
    mgr.log = str(short / 'vllm.log')
    yield mgr
    if mgr.supervisor.running():
        mgr.supervisor.shutdown()


def program(mgr, word):
    return PROGRAM.format(name='vllm', python=sys.executable, word=word, log=mgr.log)


def wait_for(mgr, state, timeout=10):
    deadline = time.time() + timeout
    while mgr.supervisor.state('vllm') != state and time.time() < deadline:
        time.sleep(0.05)
    return mgr.supervisor.state('vllm')


def test_a_supervisord_that_does_not_run_is_started_with_its_configuration(sup):
    assert not sup.supervisord_running()
    sup.start_supervisord(supervisord_config(os.path.dirname(process_manager.SUPERVISORD_CONFIG)))
    assert sup.supervisord_running() and sup.supervisor.state('vllm') == 'ABSENT'


def test_replace_starts_a_new_program_then_replaces_it_and_restore_puts_the_old_one_back(sup):
    sup.start_supervisord(supervisord_config(os.path.dirname(process_manager.SUPERVISORD_CONFIG)))
    first = replace(sup, program(sup, 'first'), sup.read(), sup.log)
    assert first == {'set_aside': False, 'log_offset': 0}
    assert wait_for(sup, 'RUNNING') == 'RUNNING'
    pid = sup.supervisor.pid('vllm')
    deadline = time.time() + 10
    while not (os.path.exists(sup.log) and 'first' in open(sup.log).read()) and time.time() < deadline:
        time.sleep(0.05)

    previous = sup.read()
    second = replace(sup, program(sup, 'second'), previous, sup.log)
    assert second['set_aside'] is True and second['log_offset'] > 0  # the first program's line is before it
    assert wait_for(sup, 'RUNNING') == 'RUNNING'
    assert sup.supervisor.pid('vllm') != pid
    assert 'second' in sup.read()

    assert restore(sup, previous) == {'restored': True}
    assert wait_for(sup, 'RUNNING') == 'RUNNING' and 'first' in sup.read()


def test_restore_without_a_previous_program_removes_it_from_supervisord(sup):
    sup.start_supervisord(supervisord_config(os.path.dirname(process_manager.SUPERVISORD_CONFIG)))
    replace(sup, program(sup, 'only'), '', sup.log)
    assert wait_for(sup, 'RUNNING') == 'RUNNING'
    assert restore(sup, '') == {'restored': False}
    assert not os.path.exists(sup.unit_file) and sup.supervisor.state('vllm') == 'ABSENT'


def test_a_program_that_cannot_start_fails_naming_supervisord(sup):
    sup.start_supervisord(supervisord_config(os.path.dirname(process_manager.SUPERVISORD_CONFIG)))
    broken = program(sup, 'x').replace(sys.executable, '/nonexistent/bin/vllm')
    with pytest.raises(ProcessError, match="supervisord could not start vllm: startProcess: NO_FILE: can't find command"):
        replace(sup, broken, '', sup.log)


def test_an_existing_supervisord_configuration_is_kept(sup):
    config = process_manager.SUPERVISORD_CONFIG
    with open(config, 'w') as handle:
        handle.write(supervisord_config(os.path.dirname(config)) + '; the package\'s own\n')
    sup.start_supervisord('[supervisord]\n')
    assert open(config).read().endswith("; the package's own\n") and sup.supervisord_running()


def test_systemd_reloads_enables_and_restarts(tmp_path):
    ctl = Systemctl()
    mgr = Manager('systemd', 'vllm', str(tmp_path / 'vllm.service'), ctl, False)
    replace(mgr, '[Unit]\n', '')
    assert ctl.calls == [['systemctl', 'daemon-reload'], ['systemctl', 'enable', 'vllm'], ['systemctl', 'restart', 'vllm']]


def test_restore_without_a_previous_server_removes_the_file_and_forgets_it(tmp_path):
    ctl = Systemctl()
    mgr = Manager('systemd', 'vllm', str(tmp_path / 'vllm.service'), ctl, False)
    mgr.write('failed\n')
    assert restore(mgr, '') == {'restored': False}
    assert not (tmp_path / 'vllm.service').exists()
    assert ctl.calls == [['systemctl', 'stop', 'vllm'], ['systemctl', 'disable', 'vllm'], ['systemctl', 'daemon-reload']]


@pytest.mark.parametrize('name', ['vllm; rm -rf /', '../../x', 'a b', '', '-vllm', 'a/b', 'x\ny'])
def test_names_that_are_not_plain_names_are_refused_before_any_command(tmp_path, name):
    ctl = Systemctl()
    with pytest.raises(ProcessError, match='not a plain name'):
        Manager('supervisor', name, str(tmp_path / 'x.conf'), ctl, False)
    assert ctl.calls == []


def test_check_mode_runs_nothing_and_writes_nothing(tmp_path):
    ctl = Systemctl()
    mgr = Manager('systemd', 'vllm', str(tmp_path / 'unit' / 'vllm.service'), ctl, True)
    assert replace(mgr, 'new\n', 'old\n')['set_aside'] is True
    assert restore(mgr, 'old\n') == {'restored': True}
    assert ctl.calls == [] and not (tmp_path / 'unit').exists()


def test_a_systemctl_that_fails_raises_naming_the_command(tmp_path):
    mgr = Manager('systemd', 'vllm', str(tmp_path / 'vllm.service'), Systemctl(fail='restart'), False)
    with pytest.raises(ProcessError, match='systemctl restart vllm failed'):
        replace(mgr, '[Unit]\n', '')
