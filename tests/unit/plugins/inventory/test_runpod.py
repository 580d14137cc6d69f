"""plugins/inventory/runpod.py, driven in-process as ansible-inventory drives it: a real InventoryData and DataLoader,
the plugin's options read from a configuration file, and RunPod's API served by the test double
(tests/doubles/runpod_api_double.py, the recorded pods of tests/unit/fixtures/runpod/pods.json) on 127.0.0.1.

Covers: the hosts, groups (the plugin's group, groups, keyed_groups) and host variables made from the pods; the
options (statuses, name_pattern, group, ansible_user, cache); names used twice; API errors; a bad pod in the answer
left out with one warning naming it while the others still make hosts; values from the API kept as data.
"""
import json
import os
import threading

import pytest

from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData

# The inventory wrapper ansible-core 2.19 puts between a plugin and the inventory (it tags what the plugin sets): these
# tests drive the plugin as 2.19 does; on 2.18 (tests/versions.sh) the plugin is tested through ansible-inventory
# by the integration battery instead.
pytest.importorskip('ansible._internal._datatag._tags')
from ansible._internal._datatag._tags import Origin  # noqa: E402  pylint: disable=wrong-import-position
from ansible.inventory.manager import _InventoryDataWrapper  # noqa: E402  pylint: disable=wrong-import-position
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader

import runpod_api_double
from ansible_collections.inferops.gpu_inference.plugins.inventory import runpod as runpod_inventory
from unit_support import FIXTURES, ROOT

NAME = 'inferops.gpu_inference.runpod'
TOKEN = 'test-token'
with open(os.path.join(FIXTURES, 'runpod', 'pods.json')) as _handle:
    PODS = json.load(_handle)  # vllm-h100-1 and vllm-h100x2-1 RUNNING with SSH mapped, scratch-l40s EXITED
GOOD = PODS[0]
with open(os.path.join(ROOT, 'inventories', 'fleet', 'runpod.yml')) as _handle:
    FLEET = _handle.read()  # the fleet's own configuration: groups pods, keyed groups gpu_* and gpus_*, compose

# What the plugin loader does before it hands out the plugin: its options (with the constructed and inventory_cache
# fragments) registered with Ansible's configuration.
inventory_loader._load_config_defs(NAME, runpod_inventory, runpod_inventory.__file__)


@pytest.fixture
def api(monkeypatch):
    server = runpod_api_double.make_server(port=0, token=TOKEN)
    thread = threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
    thread.start()
    monkeypatch.setenv('RUNPOD_API_KEY', TOKEN)
    monkeypatch.delenv('RUNPOD_API_TOKEN', raising=False)
    monkeypatch.setenv('RUNPOD_API_URL', 'http://127.0.0.1:%d/v1' % server.server_address[1])
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def inventory(tmp_path, monkeypatch):
    """inventory(config) -> (InventoryData, warnings): the configuration file parsed as ansible-inventory parses a source."""
    def parse(config=FLEET, name='runpod.yml', cache=False):
        path = tmp_path / name
        path.write_text(config)
        plugin = runpod_inventory.InventoryModule()
        plugin._load_name, plugin._redirected_names = NAME, [NAME]
        warnings = []
        monkeypatch.setattr(plugin.display, 'warning', lambda msg, *args, **kwargs: warnings.append(msg))
        data = InventoryData()
        assert plugin.verify_file(str(path))
        # As InventoryManager.parse_source does: the inventory behind its wrapper (which tags what the plugin sets with
        # the plugin's trust and the source), then the cache written.
        plugin.parse(_InventoryDataWrapper(data, target_plugin=plugin, origin=Origin(description=str(path))), DataLoader(), str(path),
                     cache=cache)
        try:
            plugin.update_cache_if_changed()
        except AttributeError:  # no cache configured
            pass
        data.reconcile_inventory()
        return data, warnings
    return parse


def members(data, group):
    return sorted(host.name for host in data.groups[group].get_hosts())


def hostvars(data, host):
    return data.get_host(host).get_vars()


def running(pod):
    return pod['desiredStatus'] == 'RUNNING'


def test_the_fleet_configuration_makes_a_host_of_each_running_pod(api, inventory):
    data, warnings = inventory()
    assert warnings == []
    want = sorted(p['name'] for p in PODS if running(p))
    assert sorted(data.hosts) == want and len(want) == 2  # the EXITED pod is left out
    assert members(data, 'gpu_nodes') == want and members(data, 'pods') == want
    # keyed groups: runpod_gpu_type (the display name) made a group name, runpod_gpu_count
    assert members(data, 'gpu_H100_SXM') == want
    assert members(data, 'gpus_1') == ['vllm-h100-1'] and members(data, 'gpus_2') == ['vllm-h100x2-1']
    assert 'gpus_1' not in [g.name for g in data.get_host('vllm-h100x2-1').get_groups()]


@pytest.mark.parametrize('pod', [p for p in PODS if running(p)], ids=lambda p: p['name'])
def test_host_variables_come_from_the_pod(api, inventory, pod):
    data, dummy = inventory()
    got = hostvars(data, pod['name'])
    assert (got['ansible_host'], got['ansible_port'], got['ansible_user']) == (pod['publicIp'], pod['portMappings']['22'], 'root')
    assert got['runpod_id'] == pod['id'] and got['runpod_status'] == 'RUNNING' and got['runpod_image'] == pod['image']
    assert got['runpod_gpu_type'] == pod['gpu']['displayName'] and got['runpod_gpu_count'] == pod['gpu']['count']
    assert got['runpod_public_ip'] == pod['publicIp'] and got['runpod_ssh_port'] == pod['portMappings']['22']
    assert got['runpod_port_mappings'] == pod['portMappings'] and got['runpod_cost_per_hr'] == pod['costPerHr']
    assert got['inferops_runtime'] == 'process'  # a pod has neither systemd nor Docker
    assert got['vllm_server_tensor_parallel_size'] == pod['gpu']['count']  # the fleet's compose


def test_other_statuses_and_a_pod_without_ssh(api, inventory):
    data, warnings = inventory('plugin: %s\nstatuses: [RUNNING, EXITED]\n' % NAME)
    assert warnings == [] and sorted(data.hosts) == sorted(p['name'] for p in PODS)
    exited = hostvars(data, 'scratch-l40s')
    assert exited['runpod_status'] == 'EXITED' and exited['runpod_public_ip'] is None and exited['runpod_ssh_port'] is None
    assert 'ansible_host' not in exited and 'ansible_port' not in exited
    assert members(data, 'gpu_nodes') == sorted(p['name'] for p in PODS if running(p))  # no SSH: not a node to work on
    assert members(data, 'ungrouped') == ['scratch-l40s']


def test_name_pattern_group_and_user_options(api, inventory):
    data, dummy = inventory('plugin: %s\nname_pattern: "x2-[0-9]+$"\ngroup: runpod_nodes\nansible_user: ubuntu\n' % NAME)
    assert sorted(data.hosts) == ['vllm-h100x2-1'] and members(data, 'runpod_nodes') == ['vllm-h100x2-1']
    assert 'gpu_nodes' not in data.groups and hostvars(data, 'vllm-h100x2-1')['ansible_user'] == 'ubuntu'
    data, dummy = inventory('plugin: %s\ngroup: ""\n' % NAME)
    assert len(data.hosts) == 2 and sorted(data.groups) == ['all', 'ungrouped']


def test_a_name_pattern_that_is_not_a_regular_expression_fails_the_source(api, inventory):
    with pytest.raises(AnsibleParserError, match=r"RunPod inventory: name_pattern='vllm-\(' is not a regular expression"):
        inventory('plugin: %s\nname_pattern: "vllm-("\n' % NAME)


def test_only_configuration_files_named_runpod_are_read(tmp_path):
    plugin = runpod_inventory.InventoryModule()
    for name, wanted in (('runpod.yml', True), ('fleet.runpod.yaml', True), ('fleet.yml', False), ('runpod.yml.bak', False)):
        path = tmp_path / name
        path.write_text('plugin: %s\n' % NAME)
        assert plugin.verify_file(str(path)) is wanted, name
    assert plugin.verify_file(str(tmp_path / 'missing.runpod.yml')) is False


def test_pods_of_one_name_are_told_apart_by_their_id(api, inventory):
    api.state.answer = [GOOD, dict(GOOD, id='zz9second9pod', publicIp='203.0.113.99')]
    data, warnings = inventory()
    assert warnings == []
    assert sorted(data.hosts) == ['vllm-h100-1-a1b2c3d4e5f6g7', 'vllm-h100-1-zz9second9pod']
    assert hostvars(data, 'vllm-h100-1-zz9second9pod')['ansible_host'] == '203.0.113.99'


def test_the_pages_of_the_answer_are_followed(api, inventory):
    api.state.options.page_size = 1
    data, dummy = inventory('plugin: %s\nstatuses: [RUNNING, EXITED]\n' % NAME)
    assert sorted(data.hosts) == sorted(p['name'] for p in PODS)
    assert sum(1 for line in api.state.log if line.startswith('GET /v1/pods')) == len(PODS)


def test_a_cached_answer_is_read_again_without_asking_the_api(api, inventory, tmp_path):
    config = FLEET + 'cache: true\ncache_plugin: jsonfile\ncache_connection: %s\ncache_timeout: 300\n' % (tmp_path / 'cache')
    first, dummy = inventory(config, cache=True)
    asked = len(api.state.log)
    assert asked == 1 and os.listdir(str(tmp_path / 'cache'))
    second, dummy = inventory(config, cache=True)
    assert len(api.state.log) == asked and sorted(second.hosts) == sorted(first.hosts)
    inventory(config, cache=False)  # --flush-cache
    assert len(api.state.log) == asked + 1


def test_a_wrong_token_fails_the_source_without_showing_it(api, inventory, monkeypatch):
    monkeypatch.setenv('RUNPOD_API_KEY', 'wrong-token-123')
    with pytest.raises(AnsibleParserError) as info:
        inventory()
    message = str(info.value)
    assert message.startswith('RunPod inventory (http://127.0.0.1:%d/v1): ' % api.server_address[1])
    assert 'HTTP 401' in message and 'wrong-token-123' not in message


def test_no_token_fails_the_source(api, inventory, monkeypatch):
    monkeypatch.delenv('RUNPOD_API_KEY')
    with pytest.raises(AnsibleParserError, match='no RunPod API key'):
        inventory()
    assert api.state.log == []  # nothing was asked without a key


def test_an_answer_that_is_not_a_list_of_pods_fails_the_source(api, inventory):
    api.state.answer = {'error': None, 'pods': 'none'}
    with pytest.raises(AnsibleParserError, match='not a list'):
        inventory()


def hostile(**fields):
    pod = dict(GOOD, id='zz9hostile9pod', name='hostile-pod')
    pod.update(fields)
    return pod


@pytest.mark.parametrize('bad,label,words', [
    (hostile(publicIp='-oProxyCommand=touch /tmp/pwned'), '"zz9hostile9pod" "hostile-pod"',
     'publicIp="-oProxyCommand=touch /tmp/pwned" must be an IPv4 or IPv6 address'),
    (hostile(publicIp='169.254.169.254'), '"zz9hostile9pod" "hostile-pod"', 'publicIp="169.254.169.254" is not an address a host is reached at'),
    (hostile(portMappings={'22': 70000}), '"zz9hostile9pod" "hostile-pod"', 'portMappings.22=70000'),
    (hostile(portMappings={'22': '10341\n-oProxyCommand=x'}), '"zz9hostile9pod" "hostile-pod"', 'portMappings.22="10341\\n-oProxyCommand=x"'),
    (hostile(name='a;touch /tmp/pwned'), '"zz9hostile9pod" "a;touch /tmp/pwned"', 'name="a;touch /tmp/pwned" must be 1 to 63 letters'),
    (hostile(name='localhost'), '"zz9hostile9pod" "localhost"', 'name="localhost" is a name Ansible reserves'),
    (hostile(name='127.1'), '"zz9hostile9pod" "127.1"', 'name="127.1" reads as an address'),
    (hostile(name='vllm-h100-1x', gpu={'id': 'x', 'count': '2; reboot', 'displayName': 'H100'}), '"zz9hostile9pod" "vllm-h100-1x"',
     'gpu.count="2; reboot"'),
    (hostile(name='pods'), '"zz9hostile9pod" "pods"', 'name="pods" '),  # first: can't add group to itself
    (hostile(name='gpu_nodes'), '"zz9hostile9pod" "gpu_nodes"', 'name="gpu_nodes" is already a host or group of the inventory'),
    ('vllm-h100-2', 'an item that is not an object ("vllm-h100-2")', 'pod="vllm-h100-2" must be an object'),
    (None, 'an item that is not an object (null)', 'pod=null must be an object'),
], ids=['ip-option', 'ip-metadata', 'port-70000', 'port-newline', 'name-shell', 'name-localhost', 'name-address', 'gpu-count',
        'name-config-group', 'name-plugin-group', 'item-string', 'item-null'])
@pytest.mark.parametrize('first', [True, False], ids=['bad-first', 'bad-second'])
def test_a_bad_pod_is_left_out_with_one_warning_naming_it(api, inventory, bad, label, words, first):
    api.state.answer = [bad, GOOD] if first else [GOOD, bad]
    data, warnings = inventory()
    assert sorted(data.hosts) == ['vllm-h100-1'], 'a host was made from a bad pod'
    assert members(data, 'gpu_nodes') == ['vllm-h100-1'] and members(data, 'pods') == ['vllm-h100-1']
    assert hostvars(data, 'vllm-h100-1')['ansible_host'] == GOOD['publicIp']
    assert len(warnings) == 1, warnings
    index = 0 if first else 1
    prefix = 'RunPod inventory (http://127.0.0.1:%d/v1): pod %d, %s, left out: ' % (api.server_address[1], index, label)
    assert warnings[0].startswith(prefix + words), warnings[0]
    assert TOKEN not in warnings[0]


def test_a_huge_bad_value_is_cut_short_in_the_warning(api, inventory):
    api.state.answer = [GOOD, hostile(name='n' * 300000)]
    data, warnings = inventory()
    assert sorted(data.hosts) == ['vllm-h100-1'] and len(warnings) == 1 and len(warnings[0]) < 500


def test_pods_the_configuration_leaves_out_are_not_checked(api, inventory):
    # An EXITED pod with a bad address, and a running one that name_pattern excludes: no host, and no warning.
    api.state.answer = [GOOD, hostile(desiredStatus='EXITED', publicIp='not-an-ip'), hostile(name='other', publicIp='not-an-ip')]
    data, warnings = inventory(FLEET + 'name_pattern: "^vllm-"\n')
    assert sorted(data.hosts) == ['vllm-h100-1'] and warnings == []


def test_values_from_the_api_stay_data_and_are_never_templated(api, inventory):
    api.state.answer = [dict(GOOD, image='{{ 7 * 6 }}')]
    data, warnings = inventory(FLEET.replace('compose:\n', 'compose:\n  image_seen: runpod_image\n'))
    got = hostvars(data, 'vllm-h100-1')
    assert warnings == [] and got['runpod_image'] == '{{ 7 * 6 }}' and got['image_seen'] == '{{ 7 * 6 }}'


def test_a_pod_named_like_a_keyed_group_listed_first_is_left_out(api, inventory):
    api.state.answer = [hostile(name='gpus_1'), GOOD]
    data, warnings = inventory()
    assert sorted(data.hosts) == ['vllm-h100-1']
    assert len(warnings) == 1 and 'name="gpus_1"' in warnings[0] and 'also the name of a group' in warnings[0]
