"""vllm_probe: its helpers in-process (inspect_server for docker/podman/supervisor/systemd with a recording fake
run_command, the settings fingerprint read back from a program or unit file through FINGERPRINT_LINE, as
server_spec writes it) and the module run as on a node against a real HTTP server on loopback (the vLLM OpenAI
double's handler on a free port), against a port where nothing listens, and with the nvidia_smi option counting GPUs
with the nvidia-smi test double. supervisord is a real one on a socket in a temporary folder."""
import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import ThreadingHTTPServer

import pytest

import vllm_openai_double
from unit_support import DOUBLES, FIXTURES, H100, fake_executable, run_module
from ansible_collections.inferops.gpu_inference.plugins.modules import vllm_probe
from ansible_collections.inferops.gpu_inference.plugins.module_utils.supervisor_rpc import Supervisor
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import server_spec

SUPERVISORD = os.path.join(os.path.dirname(sys.executable), 'supervisord')
FINGERPRINT = 'c0ffee' * 10 + 'abcd'


class FakeModule(object):
    """What inspect_server uses of an AnsibleModule: get_bin_path and run_command, the latter answering from
    `answers` (argv tuple -> (rc, out, err)) and recording each argv."""

    def __init__(self, answers=None, bins=('docker', 'podman')):
        self.answers, self.bins, self.calls = answers or {}, bins, []

    def get_bin_path(self, name, *args, **kwargs):
        return '/usr/bin/' + name if name in self.bins else None

    def run_command(self, argv, **kwargs):
        self.calls.append(list(argv))
        return self.answers.get(tuple(argv), (1, '', 'unexpected command %s' % argv))


def inspect_json(status='running', running=True, restarts=0, labels=None, image='vllm/vllm-openai:v0.32.0'):
    return json.dumps([{'State': {'Status': status, 'Running': running}, 'RestartCount': restarts,
                        'Config': {'Image': image, 'Labels': labels or {}}}])


def unit_file(tmp_path, comment, body='[Service]\nExecStart=/opt/vllm/bin/vllm serve /models/m\n'):
    """A program or unit file with the header vllm_server writes (server_spec), fingerprint included."""
    path = tmp_path / 'vllm.unit'
    path.write_text(server_spec._header({'fingerprint': FINGERPRINT, 'model': {'name': 'llama'}}, comment) + body)
    return str(path)


# inspect_server: containers ------------------------------------------------------------------------------------------

@pytest.mark.parametrize('engine', ['docker', 'podman'])
def test_a_running_container_is_alive_with_its_labels_read(engine):
    labels = {vllm_probe.FINGERPRINT_LABEL: FINGERPRINT, vllm_probe.MODEL_LABEL: 'llama'}
    module = FakeModule({('/usr/bin/' + engine, 'container', 'inspect', 'vllm'): (0, inspect_json(labels=labels), '')})
    alive, state, server = vllm_probe.inspect_server(module, engine, 'vllm')
    assert (alive, state) == (True, 'running')
    assert server == {'status': 'running', 'restarts': 0, 'fingerprint': FINGERPRINT,
                      'image': 'vllm/vllm-openai:v0.32.0', 'model': 'llama'}
    assert module.calls == [['/usr/bin/' + engine, 'container', 'inspect', 'vllm']]


def test_a_container_that_restarted_counts_as_dead_even_when_running():
    module = FakeModule({('/usr/bin/docker', 'container', 'inspect', 'vllm'): (0, inspect_json(restarts=3), '')})
    alive, state, server = vllm_probe.inspect_server(module, 'docker', 'vllm')
    assert alive is False and state == 'running after 3 restart(s)' and server['restarts'] == 3


def test_an_exited_container_is_dead_and_a_missing_one_absent():
    module = FakeModule({('/usr/bin/podman', 'container', 'inspect', 'gone'): (125, '', 'no such container gone'),
                         ('/usr/bin/podman', 'container', 'inspect', 'ended'): (0, inspect_json('exited', False), '')})
    assert vllm_probe.inspect_server(module, 'podman', 'ended')[:2] == (False, 'exited')
    alive, state, server = vllm_probe.inspect_server(module, 'podman', 'gone')
    assert alive is False and state == 'no container gone' and server['status'] == 'absent'


def test_without_the_engine_cli_or_a_name_nothing_is_known():
    module = FakeModule(bins=())
    assert vllm_probe.inspect_server(module, 'docker', 'vllm')[:2] == (None, 'docker CLI not found')
    alive, state, server = vllm_probe.inspect_server(module, 'none', 'vllm')
    assert alive is None and state is None and server['status'] == '' and module.calls == []
    assert vllm_probe.inspect_server(FakeModule(), 'docker', '')[0] is None


# inspect_server: systemd, and the fingerprint read back from the unit file ------------------------------------------

@pytest.mark.parametrize('answer, alive', [((0, 'active\n', ''), True), ((0, 'activating\n', ''), True),
                                           ((3, 'failed\n', ''), False), ((4, '', 'inactive\n'), False)])
def test_systemd_state_decides_alive(tmp_path, answer, alive):
    module = FakeModule({('systemctl', 'is-active', 'vllm'): answer})
    got_alive, state, server = vllm_probe.inspect_server(module, 'systemd', 'vllm', unit_file(tmp_path, '#'))
    assert got_alive is alive and state == (answer[1] or answer[2]).strip() == server['status']
    assert server['fingerprint'] == FINGERPRINT and module.calls == [['systemctl', 'is-active', 'vllm']]


def test_fingerprint_line_matches_what_server_spec_writes_and_nothing_else(tmp_path):
    written = unit_file(tmp_path, ';')
    assert vllm_probe.FINGERPRINT_LINE.search(open(written).read()).group(1) == FINGERPRINT
    hand_made = tmp_path / 'hand.service'
    hand_made.write_text('[Service]\n# fingerprint deadbeef\nExecStart=/bin/true\n')
    module = FakeModule({('systemctl', 'is-active', 'vllm'): (0, 'active\n', '')})
    assert vllm_probe.inspect_server(module, 'systemd', 'vllm', str(hand_made))[2]['fingerprint'] == ''
    assert vllm_probe.inspect_server(module, 'systemd', 'vllm', str(tmp_path / 'absent'))[2]['fingerprint'] == ''


# inspect_server: a real supervisord ---------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def supervisord(tmp_path_factory):
    """A supervisord on a socket in a temporary folder with program `vllm` running and `idle` stopped."""
    folder = tmp_path_factory.mktemp('sv')
    conf = folder / 'supervisord.conf'
    conf.write_text("""[unix_http_server]
file={d}/s.sock
[supervisord]
logfile={d}/supervisord.log
pidfile={d}/supervisord.pid
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[program:vllm]
command={py} -c "import time; time.sleep(600)"
startsecs=0
[program:idle]
command={py} -c "import time; time.sleep(600)"
autostart=false
""".format(d=folder, py=sys.executable))
    subprocess.run([SUPERVISORD, '-c', str(conf)], check=True)
    rpc = Supervisor(str(folder / 's.sock'), timeout=10)
    deadline = time.time() + 15
    while not (rpc.running() and rpc.state('vllm') == 'RUNNING') and time.time() < deadline:
        time.sleep(0.1)
    yield str(folder / 's.sock')
    rpc.shutdown()


def test_supervisor_program_states_and_the_program_file_fingerprint(supervisord, tmp_path):
    # supervisord at a socket of its own (a user's, as with the role's vllm_server_supervisor_dir).
    program = unit_file(tmp_path, ';')
    alive, state, server = vllm_probe.inspect_server(FakeModule(), 'supervisor', 'vllm', program, supervisord)
    assert (alive, state) == (True, 'RUNNING') and server['fingerprint'] == FINGERPRINT and server['restarts'] == 0
    assert vllm_probe.inspect_server(FakeModule(), 'supervisor', 'idle', None, supervisord)[:2] == (False, 'STOPPED')
    assert vllm_probe.inspect_server(FakeModule(), 'supervisor', 'other', None, supervisord)[:2] == (False, 'ABSENT')


def test_a_supervisord_that_does_not_answer_is_said(tmp_path):
    alive, state, server = vllm_probe.inspect_server(FakeModule(), 'supervisor', 'vllm', None, str(tmp_path / 'none.sock'))
    assert alive is False and state.startswith('UNREACHABLE (supervisord: no answer on %s' % (tmp_path / 'none.sock'))
    assert server['status'] == state


# the module on a node ---------------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def server():
    """The vLLM OpenAI double's handler on a free loopback port, serving model `llama`."""
    vllm_openai_double.MODEL = 'llama'
    httpd = ThreadingHTTPServer(('127.0.0.1', 0), vllm_openai_double.Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield 'http://127.0.0.1:%d' % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def free_url():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return 'http://127.0.0.1:%d' % port


@pytest.fixture
def nvidia_smi(tmp_path):
    return fake_executable(str(tmp_path), 'nvidia-smi', 'exec %s %s "$@"\n' % (sys.executable, os.path.join(DOUBLES, 'nvidia_smi_double.py')))


def test_a_ready_server_lists_its_model_and_passes_the_smoke_test(server):
    result = run_module('vllm_probe', {'url': server, 'served_model_name': 'llama', 'smoke_tests': ['completion', 'chat']})
    assert result['_rc'] == 0 and not result['changed']
    assert result['ready'] and result['health'] == 200 and result['models'] == ['llama'] and result['listening']
    assert result['error'] is None and result['log_tail'] == [] and result['alive'] is None and result['watch_kind'] == 'none'
    assert result['smoke']['failed'] == [] and result['smoke']['tests']['chat']['ok'], result['smoke']
    assert 'gpu_count' not in result


def test_metrics_and_smoke_options_one_at_a_time_at_a_temperature(server):
    result = run_module('vllm_probe', {'url': server, 'served_model_name': 'llama', 'smoke_tests': ['completion', 'chat'],
                                       'smoke_temperature': 0.2, 'smoke_sequential': True, 'smoke_max_tokens': 400, 'metrics': True})
    assert result['_rc'] == 0 and result['smoke']['failed'] == [], result
    metrics = result['metrics']
    assert metrics['status'] == 200 and metrics['error'] is None
    # vLLM's Prometheus text, read after the smoke tests: the double counts the requests it answered.
    assert '# TYPE vllm:request_success_total counter' in metrics['text']
    assert 'vllm:request_success_total{engine="0",finished_reason="length",model_name="llama"}' in metrics['text']
    assert 'metrics' not in run_module('vllm_probe', {'url': server, 'served_model_name': 'llama'})


def test_metrics_of_a_server_without_them_say_why(free_url):
    result = run_module('vllm_probe', {'url': free_url, 'served_model_name': 'llama', 'metrics': True})
    assert result['_rc'] == 0 and 'metrics' not in result  # nothing answered /health: nothing to read


def test_a_server_without_the_model_is_not_ready(server):
    result = run_module('vllm_probe', {'url': server, 'served_model_name': 'other', 'smoke_tests': ['completion']})
    assert result['_rc'] == 0 and not result['ready'] and result['health'] == 200 and result['models'] == ['llama']
    assert 'smoke' not in result


def test_when_nothing_listens_the_probe_says_so_and_reads_the_log(free_url, tmp_path):
    log = tmp_path / 'server.log'
    text = open(os.path.join(FIXTURES, 'vllm', 'serve-max-model-len-too-big.log')).read()
    log.write_text('old start: Traceback (most recent call last)\n' + text)
    result = run_module('vllm_probe', {'url': free_url, 'served_model_name': 'llama', 'log_file': str(log),
                                       'log_offset': len('old start: Traceback (most recent call last)\n')})
    assert result['_rc'] == 0 and result['ready'] is False
    assert result['health'] is None and result['listening'] is False and result['models'] == []
    assert result['stage'] == 'failed' and result['stages'][0] == 'starting' and result['error']
    assert result['log_size'] == log.stat().st_size and result['log_tail'] == text.splitlines()[-40:]


def test_a_bad_url_fails_naming_it():
    result = run_module('vllm_probe', {'url': 'ftp://127.0.0.1:21', 'served_model_name': 'llama'})
    assert result['_rc'] == 1 and 'ftp://127.0.0.1:21' in result['msg']


def test_a_dead_container_brings_its_engine_log_tail(free_url, tmp_path):
    fake_executable(str(tmp_path), 'docker', r'''case "$1" in
  container) echo '[{"State": {"Status": "exited", "Running": false}, "RestartCount": 0, "Config": {"Image": "img", "Labels": {}}}]' ;;
  logs) echo "INFO loading"; echo "RuntimeError: CUDA error: out of memory" >&2 ;;
esac
''')
    result = run_module('vllm_probe', {'url': free_url, 'served_model_name': 'llama', 'watch_kind': 'docker', 'watch_name': 'vllm'},
                        {'PATH': '%s:%s' % (tmp_path, os.environ['PATH'])})
    assert result['_rc'] == 0 and result['alive'] is False and result['state'] == 'exited'
    assert result['server']['image'] == 'img' and result['log_tail'] == ['INFO loading', 'RuntimeError: CUDA error: out of memory']
    assert 'out of memory' in result['error']


def test_the_unit_file_of_the_watched_manager_gives_the_fingerprint(free_url, tmp_path):
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    fake_executable(str(bindir), 'systemctl', 'echo "$*" >> %s/calls; echo active\n' % tmp_path)
    result = run_module('vllm_probe', {'url': free_url, 'served_model_name': 'llama', 'watch_kind': 'systemd', 'watch_name': 'vllm',
                                       'unit_files': {'systemd': unit_file(tmp_path, '#'), 'supervisor': str(tmp_path / 'none.conf')}},
                        {'PATH': '%s:%s' % (bindir, os.environ['PATH'])})
    assert result['_rc'] == 0 and result['alive'] is True and result['state'] == 'active'
    assert result['server']['fingerprint'] == FINGERPRINT and result['watch_kind'] == 'systemd'
    assert (tmp_path / 'calls').read_text().splitlines()[0] == 'is-active vllm'


@pytest.mark.parametrize('gpus', [1, 4])
def test_nvidia_smi_counts_the_gpus_in_the_same_run(server, nvidia_smi, gpus):
    env = {'NVIDIA_SMI_DOUBLE_FIXTURES': H100, 'NVIDIA_SMI_DOUBLE_PROFILE': json.dumps({'gpus': gpus})}
    result = run_module('vllm_probe', {'url': server, 'served_model_name': 'llama', 'nvidia_smi': nvidia_smi}, env)
    assert result['_rc'] == 0 and result['gpu_count'] == gpus and result['ready']


def test_nvidia_smi_missing_or_without_a_driver_fails_naming_it(server, nvidia_smi, tmp_path):
    missing = run_module('vllm_probe', {'url': server, 'served_model_name': 'llama', 'nvidia_smi': str(tmp_path / 'no-smi')})
    assert missing['_rc'] == 1 and missing['reason'] == 'nvidia_smi_missing' and str(tmp_path / 'no-smi') in missing['msg']
    env = {'NVIDIA_SMI_DOUBLE_FIXTURES': H100, 'NVIDIA_SMI_DOUBLE_PROFILE': '{"driver_down": true}'}
    down = run_module('vllm_probe', {'url': server, 'served_model_name': 'llama', 'nvidia_smi': nvidia_smi}, env)
    assert down['_rc'] == 1 and down['reason'] == 'nvidia_smi_driver' and 'NVIDIA driver' in down['msg']


def test_the_collectives_interface_and_every_ipv4_address_on_it():
    """ip lists secondary addresses too (a node address may be one); without ip, the primary one (SIOCGIFADDR)."""
    listing = ('2: eth1    inet 10.118.0.3/20 brd 10.118.15.255 scope global eth1\\       valid_lft forever\n'
               '2: eth1    inet 10.118.0.9/20 scope global secondary eth1\\       valid_lft forever\n')
    assert vllm_probe.addresses_of(listing) == ['10.118.0.3', '10.118.0.9']
    calls = []

    def run(argv):
        calls.append(argv)
        return 0, '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n', ''
    found = vllm_probe.interface_of('lo', run, '/usr/sbin/ip')
    assert found['exists'] and found['addresses'] == ['127.0.0.1'] and 'lo' in found['all']
    assert calls == [['/usr/sbin/ip', '-4', '-o', 'addr', 'show', 'dev', 'lo']]
    assert vllm_probe.interface_of('lo')['addresses'] == ['127.0.0.1']  # no ip: the ioctl
    assert vllm_probe.interface_of('eth-none-such') == {'exists': False, 'addresses': [], 'all': found['all']}


def test_reach_tells_an_answering_host_from_a_dropped_connection():
    """Real sockets on loopback: a listener (open), a closed port (refused: the host answered), a listener whose backlog
    is full (the kernel drops the SYN, as a firewall does: timeout)."""
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(0)
    full = socket.create_connection(listener.getsockname(), timeout=1)  # fills the backlog of 0
    closed = socket.socket()
    closed.bind(('127.0.0.1', 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    try:
        busy = '127.0.0.1:%d' % listener.getsockname()[1]
        found = vllm_probe.reach(['127.0.0.1:%d' % closed_port, busy, '[::1]:%d' % closed_port, 'no-port'], timeout=0.5)
        assert found['127.0.0.1:%d' % closed_port] == 'refused'
        assert found[busy] == 'timeout'
        assert found['[::1]:%d' % closed_port] in ('refused', 'Cannot assign requested address', 'Network is unreachable')
        assert found['no-port'] not in ('open', 'refused', 'timeout')
    finally:
        full.close()
        listener.close()
    with socket.socket() as srv:
        srv.bind(('127.0.0.1', 0))
        srv.listen(5)
        assert vllm_probe.reach(['127.0.0.1:%d' % srv.getsockname()[1]]) == {'127.0.0.1:%d' % srv.getsockname()[1]: 'open'}
