"""Bad input to playbooks/gateway.yml (role vllm_gateway): rejected before HAProxy is installed or configured, the
message naming the variable, the value and what is allowed; and gateway.yml --check passes with valid settings
(it used to fail at the verification, which has nothing to read in check mode), where it checks the configuration it
would write with haproxy -c. Each node's address and port are checked before they are written as a server line (a
newline in them wrote a second server line), in check mode too. The harness: badinput.py."""
import glob
import os
import shutil
import socket
import tempfile

import pytest

import badinput

GW = 'gw1'


def run(tmp_path, settings, node_vars=None, options=('-vvv',)):
    case_dir = str(tmp_path / 'case')
    os.makedirs(case_dir)
    extra = dict({'vllm_gateway_config': os.path.join(case_dir, 'haproxy.cfg'),
                  'vllm_gateway_socket': os.path.join(case_dir, 'run', 'admin.sock'),
                  'vllm_gateway_listen_port': 18970}, **settings)
    inv = badinput.inventory(case_dir, hostvars=dict({'vllm_server_port': 18999}, **(node_vars or {})),
                             groups={'vllm_gateways': [GW]})
    rc, out = badinput.run_playbook('gateway.yml', case_dir, extra, inv, options=options)
    return case_dir, rc, out


CASES = [
    ('port-zero', {'vllm_gateway_listen_port': 0}, None, ['vllm_gateway_listen_port=0 must be a port from 1 to 65535']),
    ('port-big', {'vllm_gateway_listen_port': 70000}, None, ['vllm_gateway_listen_port=70000']),
    ('port-of-a-node-here', {'vllm_gateway_listen_port': 18999}, {'ansible_host': '127.0.0.1'},
     ['vllm_gateway_listen_port=18999 on 127.0.0.1 is the vLLM port of node1']),
    ('balance-typo', {'vllm_gateway_balance': 'fastest'}, None, ['vllm_gateway_balance', 'roundrobin']),
    ('nodes-empty', {'vllm_gateway_nodes': []}, None, ['vllm_gateway_nodes is empty']),
    ('nodes-unknown', {'vllm_gateway_nodes': ['node1', 'node-typo']}, None, ['not in the inventory: node-typo']),
    ('listen-address-junk', {'vllm_gateway_listen_address': '127.0.0.1; touch x'}, None,
     ['vllm_gateway_listen_address="127.0.0.1; touch x"']),
    ('backend-junk', {'vllm_gateway_backend': 'my backend'}, None, ['vllm_gateway_backend="my backend"']),
]

ADDRESS_RULE = 'must be an IP address or a DNS host name (letters, digits, hyphens and dots, 253 characters at most)'
PORT_RULE = 'must be a port from 1 to 65535'
# Each node's address and port, from its host vars (a pod's port mapping, group_vars), before they are written.
MEMBER_CASES = [
    ('node-address-second-server', {'vllm_gateway_node_address': '127.0.0.1:18999 check\n    server evil 203.0.113.9'},
     ['node1: vllm_gateway_node_address="127.0.0.1:18999 check\\n    server evil 203.0.113.9" ' + ADDRESS_RULE]),
    ('ansible-host-option', {'ansible_host': '-oProxyCommand=x'}, ['node1: ansible_host="-oProxyCommand=x" ' + ADDRESS_RULE]),
    ('node-port-big', {'vllm_gateway_node_port': 70000}, ['node1: vllm_gateway_node_port=70000 ' + PORT_RULE]),
    ('server-port-newline', {'vllm_server_port': '8000\n'}, ['node1: vllm_server_port="8000\\n" ' + PORT_RULE]),
    ('node-port-bool', {'vllm_gateway_node_port': True}, ['node1: vllm_gateway_node_port=true ' + PORT_RULE]),
    ('node-address-semicolon', {'vllm_gateway_node_address': '10.0.0.5; touch pwned'},
     ['node1: vllm_gateway_node_address="10.0.0.5; touch pwned" ' + ADDRESS_RULE]),
    # The port of the node's dcgm-exporter, which the serving check reads (vllm_gateway_gpu_check).
    ('dcgm-port-text', {'gpu_host_check_dcgm_exporter_port': '9400/metrics?x'},
     ['node1: gpu_host_check_dcgm_exporter_port="9400/metrics?x" ' + PORT_RULE]),
]
CHECK_MODE_CASES = ('node-address-second-server', 'node-port-big')


@pytest.mark.parametrize('settings,node_vars,words', [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_gateway_rejects_before_any_change(tmp_path, settings, node_vars, words):
    case_dir, rc, out = run(tmp_path, settings, node_vars)
    badinput.check_rejected(rc, out, words, case_dir, None)
    assert 'Install HAProxy' not in out


@pytest.mark.parametrize('node_vars,words', [c[1:] for c in MEMBER_CASES], ids=[c[0] for c in MEMBER_CASES])
def test_gateway_rejects_bad_node_addresses_and_ports(tmp_path, node_vars, words):
    case_dir, rc, out = run(tmp_path, {}, node_vars)
    badinput.check_rejected(rc, out, ['Invalid vllm_gateway settings for gw1'] + words, case_dir, None)
    assert 'Install HAProxy' not in out
    assert badinput.files_under(case_dir) == []


@pytest.mark.parametrize('node_vars,words', [c[1:] for c in MEMBER_CASES if c[0] in CHECK_MODE_CASES],
                         ids=[c[0] for c in MEMBER_CASES if c[0] in CHECK_MODE_CASES])
def test_check_mode_rejects_bad_node_addresses_and_ports(tmp_path, node_vars, words):
    case_dir, rc, out = run(tmp_path, {}, node_vars, options=('--check', '-vvv'))
    badinput.check_rejected(rc, out, ['Invalid vllm_gateway settings for gw1'] + words, case_dir, None)
    assert 'Install HAProxy' not in out
    assert badinput.files_under(case_dir) == []


def test_a_port_in_use_by_something_else_is_refused(tmp_path):
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(4)
    try:
        port = listener.getsockname()[1]
        case_dir, rc, out = run(tmp_path, {'vllm_gateway_listen_port': port})
    finally:
        listener.close()
    badinput.check_rejected(rc, out, ['vllm_gateway_listen_port=%d on 127.0.0.1 is in use by python' % port], case_dir, None)
    assert 'Install HAProxy' not in out


def cfg_check_files():
    return set(glob.glob(os.path.join(tempfile.gettempdir(), 'ansible.*.haproxy.cfg')))


def test_check_mode_passes_with_valid_settings_and_changes_nothing(tmp_path):
    # node1 at an address HAProxy resolves (where HAProxy is installed, check mode runs haproxy -c, which
    # resolves each server's address as the real run's validate does).
    before = cfg_check_files()
    case_dir, rc, out = run(tmp_path, {}, {'ansible_host': '127.0.0.1'}, options=('--check',))
    assert rc == 0, out[-4000:]
    assert badinput.files_under(case_dir) == []
    assert cfg_check_files() <= before, 'the temporary configuration was left behind'


@pytest.mark.skipif(shutil.which('haproxy', path=os.environ.get('PATH', '') + ':/usr/sbin:/sbin') is None,
                    reason='HAProxy is not installed here: check mode skips haproxy -c')
def test_check_mode_checks_the_configuration_with_haproxy(tmp_path):
    # A setting the role passes as is, that HAProxy refuses: check mode finds it, as the real run's validate does.
    before = cfg_check_files()
    case_dir, rc, out = run(tmp_path, {'vllm_gateway_timeout_connect': '2x'}, {'ansible_host': '127.0.0.1'},
                            options=('--check',))
    badinput.check_rejected(rc, out, ['Check it with haproxy -c', "unexpected character 'x' in 'timeout connect'"],
                            case_dir, None)
    assert badinput.files_under(case_dir) == []
    assert cfg_check_files() <= before, 'the temporary configuration was left behind'


def test_the_serving_check_turned_off_on_the_command_line_as_users_type_it(tmp_path):
    """-e vllm_gateway_serving_check=false arrives as the text 'false' (it failed the role's conditional, and a template
    testing the text would have kept the external check): the configuration checks /health, with no fallback backend."""
    case_dir, rc, out = run(tmp_path, {}, {'ansible_host': '127.0.0.1'},
                            options=('--check', '--diff', '-e', 'vllm_gateway_serving_check=false'))
    assert rc == 0, out[-4000:]
    assert 'option httpchk GET /health' in out and 'external-check' not in out and 'vllm_fallback' not in out, out[-4000:]
    case_dir, rc, out = run(tmp_path / 'on', {}, {'ansible_host': '127.0.0.1'}, options=('--check', '--diff', '-e', 'vllm_gateway_fallback=no'))
    assert rc == 0, out[-4000:]
    assert 'option external-check' in out and 'vllm_fallback' not in out, out[-4000:]
