"""vllm_gateway_rules: the role vllm_gateway's rules across settings, each with a passing and a failing case; the
messages name the variable, the value and what is allowed (the integration battery, test_bad_input_gateway.py, looks
for the same words)."""
import pytest

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import vllm_gateway_rules as rules

CONTEXT = {'inventory_hosts': ['node1', 'node2', 'gw1'], 'inventory_hostname': 'gw1', 'ansible_host': None}


def member(name='node1', address='10.0.0.5', port=8000, address_var='ansible_host', port_var='vllm_server_port'):
    return {'name': name, 'address': address, 'port': port, 'address_var': address_var, 'port_var': port_var}


def settings(**changes):
    values = {'vllm_gateway_nodes': ['node1', 'node2'], 'vllm_gateway_listen_address': '127.0.0.1',
              'vllm_gateway_listen_port': 8080, 'vllm_gateway_balance': 'leastconn', 'vllm_gateway_backend': 'vllm',
              '_vllm_gateway_members': [member(), member('node2', '10.0.0.6')]}
    values.update(changes)
    return values


def problems(context=None, **changes):
    return rules.problems(settings(**changes), dict(CONTEXT, **(context or {})))


def test_every_setting_the_rules_read_is_a_role_option_or_the_members():
    from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import role_variables
    names = set(rules.SETTINGS['main'] + rules.SETTINGS['member'])
    assert names - role_variables.options('vllm_gateway') == {'_vllm_gateway_members'}


def test_good_settings_have_no_problem():
    assert problems() == []


# (case, changes, the message) - each rule broken once; the passing side of each is the good settings above.
FAILING = [
    ('nodes-empty', {'vllm_gateway_nodes': [], '_vllm_gateway_members': []},
     'vllm_gateway_nodes is empty: list the inventory hosts of the vLLM nodes (default: the gpu_nodes group)'),
    ('nodes-unknown', {'vllm_gateway_nodes': ['node1', 'typo', 'other', 'typo']},
     'vllm_gateway_nodes names hosts that are not in the inventory: typo, other'),
    ('nodes-a-string', {'vllm_gateway_nodes': 'node1'}, 'vllm_gateway_nodes="node1" must be a list'),
    ('port-zero', {'vllm_gateway_listen_port': 0}, 'vllm_gateway_listen_port=0 must be a port from 1 to 65535'),
    ('port-big-text', {'vllm_gateway_listen_port': '70000'}, 'vllm_gateway_listen_port=70000 must be a port from 1 to 65535'),
    ('balance', {'vllm_gateway_balance': 'fastest'},
     'vllm_gateway_balance=fastest must be one of roundrobin, leastconn, random, first'),
    ('address-junk', {'vllm_gateway_listen_address': '127.0.0.1; touch x'},
     'vllm_gateway_listen_address="127.0.0.1; touch x" must be an IP address, * or localhost'),
    ('address-newline', {'vllm_gateway_listen_address': '127.0.0.1\n'}, 'vllm_gateway_listen_address="127.0.0.1\\n"'),
    ('address-hex-word', {'vllm_gateway_listen_address': 'beef'}, 'vllm_gateway_listen_address="beef"'),
    ('backend-space', {'vllm_gateway_backend': 'my backend'}, 'vllm_gateway_backend="my backend" must be letters, digits, _ or -'),
    ('backend-newline', {'vllm_gateway_backend': 'vllm\n'}, 'vllm_gateway_backend="vllm\\n"'),
    ('member-port', {'_vllm_gateway_members': [member(port=70000, port_var='vllm_gateway_node_port')]},
     'node1: vllm_gateway_node_port=70000 must be a port from 1 to 65535'),
]


@pytest.mark.parametrize('changes,message', [c[1:] for c in FAILING], ids=[c[0] for c in FAILING])
def test_each_rule_names_the_variable_the_value_and_what_is_allowed(changes, message):
    assert message in '; '.join(problems(**changes))


@pytest.mark.parametrize('address', ['0.0.0.0', '::', '::1', '10.0.0.1', '*', 'localhost', '2001:db8::1'])
def test_listen_addresses_haproxy_binds(address):
    assert problems(vllm_gateway_listen_address=address) == []


@pytest.mark.parametrize('port', [1, 65535, '8080'])
def test_listen_ports_in_range(port):
    assert problems(vllm_gateway_listen_port=port) == []


def test_a_node_whose_vllm_listens_where_the_gateway_does_clashes():
    here = [member('node1', '127.0.0.1', 8080), member('node2', '10.0.0.6', 8080)]
    assert problems(_vllm_gateway_members=here) == [
        'vllm_gateway_listen_port=8080 on 127.0.0.1 is the vLLM port of node1, which listens at the same address: '
        'choose another vllm_gateway_listen_port']
    # The gateway's own host by name, or at its ansible_host, clashes too; a port given as text is the same port.
    assert 'node2' in problems(_vllm_gateway_members=[member('node2', '10.0.0.6', '8080')], context={'ansible_host': '10.0.0.6'})[0]
    assert 'gw1' in problems(vllm_gateway_nodes=['gw1'], _vllm_gateway_members=[member('gw1', '192.0.2.1', 8080)])[0]


def test_the_same_port_elsewhere_or_another_port_here_does_not_clash():
    assert problems(_vllm_gateway_members=[member('node1', '10.0.0.5', 8080), member('node2', '127.0.0.1', 8000)]) == []


def test_every_problem_is_listed_at_once():
    found = problems(vllm_gateway_listen_port=0, vllm_gateway_balance='x', vllm_gateway_backend='a b')
    assert len(found) == 3


def test_the_member_entry_point():
    good = {'vllm_gateway_member_state': 'disabled', 'vllm_gateway_hosts': ['gw1']}
    assert rules.problems(good, CONTEXT, 'member') == []
    assert rules.problems(dict(good, vllm_gateway_member_state='enabled', vllm_gateway_hosts=[]), CONTEXT, 'member') == []
    assert rules.problems(dict(good, vllm_gateway_member_state='drained'), CONTEXT, 'member') == [
        'vllm_gateway_member_state=drained must be enabled or disabled']
    assert rules.problems(dict(good, vllm_gateway_hosts=['gw1', 'gw9']), CONTEXT, 'member') == [
        'vllm_gateway_hosts (gw1, gw9) must be inventory hosts; not in the inventory: gw9']
    assert rules.problems(dict(good, vllm_gateway_hosts='gw1'), CONTEXT, 'member') == [
        'vllm_gateway_hosts="gw1" must be a list (in YAML, or as JSON with -e)']


def test_member_problems_is_the_filter():
    from ansible_collections.inferops.gpu_inference.plugins.filter.gateway import FilterModule
    assert FilterModule().filters()['gateway_member_problems'] is rules.member_problems
    assert rules.member_problems([member(), member()]) == ['vllm_gateway_nodes names "node1" twice']
    assert rules.member_problems([member(address='10.0.0.1;x')])[0].startswith('node1: ansible_host="10.0.0.1;x" must be')


def test_a_gpu_nodes_dcgm_exporter_port_is_checked_where_the_serving_check_reads_it():
    bad = dict(member(), gpu=True, dcgm_port='9400/x', dcgm_port_var='gpu_host_check_dcgm_exporter_port')
    assert rules.member_problems([bad]) == [
        'node1: gpu_host_check_dcgm_exporter_port="9400/x" must be a port from 1 to 65535']
    assert rules.member_problems([dict(bad, gpu=False)]) == []  # a CPU node, or vllm_gateway_gpu_check off: not read
    assert rules.member_problems([dict(bad, dcgm_port=9400)]) == []


def test_a_follower_of_a_server_across_nodes_is_refused_as_a_member():
    assert rules.member_problems([dict(member(), leader='lead1')]) == [
        'node1 is a follower of the server across nodes "lead1" leads (vllm_server_nodes): it serves no API of its own; '
        'list "lead1" in vllm_gateway_nodes instead']
    assert rules.member_problems([dict(member(), leader='')]) == []
