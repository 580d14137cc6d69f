"""gateway_member_problems: the gateway's members judged before haproxy.cfg is written."""
import pytest

from ansible_collections.inferops.gpu_inference.plugins.filter.gateway import FilterModule, gateway_member_problems


def member(name='node1', address='10.0.0.5', port=8000, address_var='ansible_host', port_var='vllm_server_port'):
    return {'name': name, 'address': address, 'port': port, 'address_var': address_var, 'port_var': port_var}


def test_good_members_have_no_problem():
    members = [member(), member('node2', 'pod-7.example.com', '40123', 'vllm_gateway_node_address', 'vllm_gateway_node_port'),
               member('node_3', '2001:db8::1', 8000, 'ansible_host', None), {'name': 'n4', 'address': 'n4', 'port': 1}]
    assert gateway_member_problems(members) == []
    assert gateway_member_problems([]) == []


def test_a_newline_in_the_address_is_named_with_its_variable_and_quoted():
    evil = '127.0.0.1:18999 check\n    server evil 203.0.113.9'
    problems = gateway_member_problems([member(address=evil, address_var='vllm_gateway_node_address')])
    assert problems == ['node1: vllm_gateway_node_address="127.0.0.1:18999 check\\n    server evil 203.0.113.9" must be '
                        'an IP address or a DNS host name (letters, digits, hyphens and dots, 253 characters at most)']


@pytest.mark.parametrize('port,shown', [(70000, '70000'), (0, '0'), ('8000\n', '"8000\\n"'), ('80 80', '"80 80"'),
                                        (True, 'true'), (None, 'null')])
def test_bad_ports(port, shown):
    problems = gateway_member_problems([member(port=port, port_var='vllm_gateway_node_port')])
    assert problems == ['node1: vllm_gateway_node_port=%s must be a port from 1 to 65535' % shown]


@pytest.mark.parametrize('address', ['-oProxyCommand=x', '10.0.0.1;touch x', 'a/b', 'host:80', '', None, 5])
def test_bad_addresses_name_the_variable(address):
    problems = gateway_member_problems([member(address=address)])
    assert len(problems) == 1 and problems[0].startswith('node1: ansible_host=')


def test_an_address_from_the_inventory_name_says_so():
    problems = gateway_member_problems([member('gpu_1', 'gpu_1', address_var='inventory_hostname')])
    assert problems == ['gpu_1: the address "gpu_1" (the node\'s inventory name: neither vllm_gateway_node_address nor '
                        'ansible_host is set) must be an IP address or a DNS host name (letters, digits, hyphens and '
                        'dots, 253 characters at most)']


def test_a_long_value_is_cut_short():
    problems = gateway_member_problems([member(address='a b' * 100)])
    assert len(problems) == 1 and '..."' not in problems[0] and '"... must be' in problems[0]
    assert len(problems[0]) < 250


def test_bad_names_and_names_used_twice():
    problems = gateway_member_problems([member('bad name\nserver x'), member('node1'), member('node1')])
    assert problems[0].startswith('vllm_gateway_nodes[0]="bad name\\nserver x" must be an inventory host name')
    assert problems[1:] == ['vllm_gateway_nodes names "node1" twice']


def test_every_problem_of_a_member_is_listed():
    problems = gateway_member_problems([member(address='x;y', port=70000)])
    assert [p.split('=')[0] for p in problems] == ['node1: ansible_host', 'node1: vllm_server_port']


def test_not_a_list_or_not_dictionaries():
    assert gateway_member_problems('node1') == [
        'the gateway members must be a list of dictionaries (name, address, port), not "node1"']
    assert gateway_member_problems(['node1']) == [
        'gateway member 0 must be a dictionary (name, address, port), not "node1"']


def test_the_filter_is_registered():
    assert FilterModule().filters()['gateway_member_problems'] is gateway_member_problems
