"""module_utils/addresses: host names, IP addresses and ports that stay one token of a configuration line."""
import pytest

from ansible_collections.inferops.gpu_inference.plugins.module_utils.addresses import (
    is_address, is_host_name, is_inventory_name, is_ip, port_number, shorten)


@pytest.mark.parametrize('value', ['127.0.0.1', '10.0.0.5', '::1', '2001:db8::1', '::ffff:192.0.2.1'])
def test_ip_addresses(value):
    assert is_ip(value) and is_address(value) and not is_host_name(value)


@pytest.mark.parametrize('value', ['localhost', 'node1', 'pod-7.example.com', 'a' * 63 + '.example', 'x1.y2',
                                   ('a' * 60 + '.') * 4 + 'abcdefghi'])
def test_host_names(value):
    assert is_host_name(value) and is_address(value) and not is_ip(value)


@pytest.mark.parametrize('value', [
    '', ' ', '127.0.0.1\n', 'node1\n', 'node1 ', '127.0.0.1:18999 check\n    server evil 203.0.113.9', '-oProxyCommand=x',
    '10.0.0.1;touch x', 'a/b', 'host:80', 'fe80::1%eth0', 'fe80::1%a b', '[::1]', '127.0.0.300', '1.2.3', '999.1.1.1',
    'node_1', '-node', 'node-', 'a..b', '.a', 'a' * 64 + '.example', ('a' * 60 + '.') * 5 + 'abc', None, 8000, True,
    ['127.0.0.1'], {'a': 1}])
def test_not_addresses(value):
    assert not is_address(value)
    assert not is_ip(value) and not is_host_name(value)


@pytest.mark.parametrize('value', ['node1', 'node_1', 'gpu-node.1', 'N', '1node', 'a' * 253])
def test_inventory_names(value):
    assert is_inventory_name(value)


@pytest.mark.parametrize('value', ['', 'node 1', 'node1\n', '-node', '_node', '.node', 'a;b', 'a' * 254, None, 7])
def test_not_inventory_names(value):
    assert not is_inventory_name(value)


@pytest.mark.parametrize('value,expected', [(8000, 8000), ('8000', 8000), (1, 1), (65535, 65535), ('08000', 8000)])
def test_ports(value, expected):
    assert port_number(value) == expected


@pytest.mark.parametrize('value', [0, 70000, 65536, -1, '0', '70000', '8000\n', ' 8000', '80 80', '+80', '-80', '8e3',
                                   '', True, False, 8000.0, None, [8000], '\uff18\uff10'])
def test_not_ports(value):
    assert port_number(value) is None


def test_shorten_quotes_and_cuts():
    assert shorten('8000\n') == '"8000\\n"'
    assert shorten(70000) == '70000'
    assert shorten(True) == 'true'
    assert shorten(None) == 'null'
    long = 'x' * 200
    assert shorten(long) == '"' + 'x' * 80 + '"...'
    assert shorten(long, limit=10) == '"' + 'x' * 10 + '"...'
    assert shorten(list(range(100))).endswith('...') and len(shorten(list(range(100)))) == 83
    assert shorten(object()).startswith('"<object')
