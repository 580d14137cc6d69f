"""Bad input to playbooks/gateway.yml (role vllm_gateway): rejected before HAProxy is installed or configured, the
message naming the variable, the value and what is allowed; and gateway.yml --check passes with valid settings
(it used to fail at the verification, which has nothing to read in check mode). The harness: badinput.py."""
import os
import socket

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


@pytest.mark.parametrize('settings,node_vars,words', [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_gateway_rejects_before_any_change(tmp_path, settings, node_vars, words):
    case_dir, rc, out = run(tmp_path, settings, node_vars)
    badinput.check_rejected(rc, out, words, case_dir, None)
    assert 'Install HAProxy' not in out


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


def test_check_mode_passes_with_valid_settings_and_changes_nothing(tmp_path):
    case_dir, rc, out = run(tmp_path, {}, options=('--check',))
    assert rc == 0, out[-4000:]
    assert badinput.files_under(case_dir) == []
