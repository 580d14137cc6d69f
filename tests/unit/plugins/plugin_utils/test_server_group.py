"""server_group: one server across nodes - each node's place, what vllm serve gets, and every mismatch the issue names
refused with the variable, the value and what is allowed (checked on the controller, before any change)."""
import pytest

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import server_group, server_spec
from test_server_spec import settings

GROUP = dict(vllm_server_nodes=['gpu-a', 'gpu-b'], vllm_server_node_address='10.0.0.1', vllm_server_collective_ifname='eth1',
             vllm_server_bind_address='0.0.0.0', vllm_server_pipeline_parallel_size=2, vllm_server_gpus=1,
             vllm_server_api_key='k' * 24)


def node(host, **changes):
    s = settings(**dict(GROUP, **changes))
    s['_host'] = host
    s['_node'] = server_group.node_of(s, host, '10.0.0.1')
    return s


def problems(host='gpu-a', **changes):
    return ' | '.join(server_spec.problems(node(host, **changes), ('gpu-a', 'gpu-b', 'gpu-c')))


def test_a_one_node_server_is_as_before():
    s = settings()
    assert server_group.node_of(s, 'gpu-a') is None and server_group.problems(s, 'gpu-a') == []
    assert not [a for a in server_spec.build(s)['argv'] if a.startswith(('--nnodes', '--headless'))]


def test_the_leader_serves_and_the_follower_runs_headless_both_joined_over_the_named_interface():
    leader, follower = server_spec.build(node('gpu-a')), server_spec.build(node('gpu-b', vllm_server_node_address='10.0.0.2'))
    joined = ['--nnodes=2', '--master-addr=10.0.0.1', '--master-port=29501', '--distributed-executor-backend=mp']
    assert set(joined + ['--node-rank=0']) <= set(leader['argv']) and '--headless' not in leader['argv']
    assert set(joined + ['--node-rank=1', '--headless']) <= set(follower['argv'])
    assert leader['env']['VLLM_HOST_IP'] == '10.0.0.1' and follower['env']['VLLM_HOST_IP'] == '10.0.0.2'
    assert follower['env']['GLOO_SOCKET_IFNAME'] == follower['env']['NCCL_SOCKET_IFNAME'] == 'eth1'
    # The follower's gate asks the leader's API; docker runs both on the node's network (the collectives reach them).
    assert leader['local_url'] == 'http://127.0.0.1:8000' and follower['local_url'] == 'http://10.0.0.1:8000'
    assert leader['engine']['network'] == 'host' and leader['engine']['ports'] == [] and '--port=8000' in leader['argv']
    assert leader['fingerprint'] != follower['fingerprint']


def test_a_good_group_passes():
    assert problems() == '' and problems('gpu-b', vllm_server_node_address='10.0.0.2') == ''


@pytest.mark.parametrize('changes, words', [
    (dict(vllm_server_nodes=['gpu-a', 'gpu-x']), 'vllm_server_nodes names gpu-x, not in the inventory'),
    (dict(vllm_server_nodes=['gpu-a', 'gpu-a']), 'names a node twice'),
    (dict(vllm_server_nodes=['gpu-a']), 'needs 2 or more'),
    (dict(vllm_server_nodes=['gpu-b', 'gpu-c']), 'does not name gpu-a'),
    (dict(vllm_server_pipeline_parallel_size=3, vllm_server_gpus=2), '= 3 ranks cannot be split evenly over the 2 nodes'),
    (dict(vllm_server_tensor_parallel_size=2, vllm_server_pipeline_parallel_size=1), 'vllm_server_tensor_parallel_size=2 is more than the 1 GPU(s)'),
    (dict(vllm_server_gpus=2), 'vllm_server_gpus=2 gives 2 GPU(s) on gpu-a; each of the 2 nodes of vllm_server_nodes runs TP x PP / nodes = 1'),
    (dict(vllm_server_node_address='gpu-a.internal'), "vllm_server_node_address='gpu-a.internal' must be the IP address of gpu-a"),
    (dict(vllm_server_collective_ifname=''), "vllm_server_collective_ifname='' must name the network interface"),
    (dict(vllm_server_collective_ifname='eth1; reboot'), 'vllm_server_collective_ifname='),
    (dict(vllm_server_master_port=8000), 'vllm_server_master_port=8000 must be a port from 1 to 65535, other than vllm_server_port'),
    (dict(vllm_server_bind_address='127.0.0.1'), 'vllm_server_bind_address=127.0.0.1: the nodes of a server across nodes reach'),
])
def test_each_rule_names_the_variable_and_the_value(changes, words):
    assert words in problems(**changes)


def test_every_node_must_run_the_server_alike():
    a = node('gpu-a')
    b = node('gpu-b', vllm_server_node_address='10.0.0.2', vllm_server_image='docker.io/vllm/vllm-openai:v0.31.0',
             vllm_server_tensor_parallel_size=1, vllm_server_model='org/other')
    found = ' '.join(server_group.mismatches(a, 'gpu-a', {'gpu-b': b}))
    assert 'vllm_server_image, vllm_server_model differs between gpu-a and gpu-b' in found
    assert "vllm_server_image: 'docker.io/vllm/vllm-openai:v0.32.0' vs 'docker.io/vllm/vllm-openai:v0.31.0'" in found
    same_address = node('gpu-b')
    assert 'vllm_server_node_address=10.0.0.1 is both' in ' '.join(server_group.mismatches(a, 'gpu-a', {'gpu-b': same_address}))
    assert server_group.mismatches(a, 'gpu-a', {'gpu-a': a, 'gpu-b': node('gpu-b', vllm_server_node_address='10.0.0.2')}) == []


def test_the_plan_reads_each_peer_from_its_host_vars_and_wants_the_whole_group_in_the_batch():
    from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import server_plan
    leader = node('gpu-a')
    hostvars = {'gpu-b': {'vllm_server_node_address': '10.0.0.2', 'vllm_server_max_model_len': 512}}
    found = server_plan.group_problems(leader, {'hostvars': hostvars, 'ansible_play_batch': ['gpu-a']})
    assert 'gpu-b is not in this run (--limit' in found[0] and "another batch of a serial play such as redeploy.yml's" in found[0]
    assert 'vllm_server_max_model_len differs between gpu-a and gpu-b' in found[1]
    hostvars['gpu-b'].pop('vllm_server_max_model_len')  # unset there: the role's default, as here
    assert server_plan.group_problems(leader, {'hostvars': hostvars, 'ansible_play_batch': ['gpu-a', 'gpu-b']}) == []
    assert server_plan.peer_settings({'hostvars': hostvars}, 'gpu-b', leader)['_host'] == 'gpu-b'


def test_a_different_api_key_is_named_and_never_shown():
    a, b = node('gpu-a'), node('gpu-b', vllm_server_node_address='10.0.0.2', vllm_server_api_key='other-key-0123456789')
    found = ' '.join(server_group.mismatches(a, 'gpu-a', {'gpu-b': b}))
    assert 'vllm_server_api_key differs between gpu-a and gpu-b (vllm_server_api_key: not shown)' in found
    assert 'other-key' not in found and 'k' * 24 not in found


def test_the_groups_own_flags_cannot_come_through_extra_args():
    found = problems(vllm_server_extra_args=['--headless', '--master-port=1234'])
    assert 'vllm_server_extra_args sets --headless, --master-port, which vllm_server sets itself: use vllm_server_nodes, vllm_server_master_port' in found


def test_the_interface_must_be_there_and_hold_the_nodes_address_secondary_ones_too():
    from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import server_plan
    s = node('gpu-a')
    assert server_plan.interface_problems(s, {'exists': True, 'addresses': ['10.0.0.9', '10.0.0.1'], 'all': ['eth1']}, 'gpu-a') == []
    assert 'is not an address of eth1 on gpu-a (10.0.0.9)' in server_plan.interface_problems(
        s, {'exists': True, 'addresses': ['10.0.0.9'], 'all': ['eth1']}, 'gpu-a')[0]
    assert 'vllm_server_collective_ifname=eth1 is not a network interface of gpu-a (it has eth0, lo)' in server_plan.interface_problems(
        s, {'exists': False, 'addresses': [], 'all': ['eth0', 'lo']}, 'gpu-a')[0]


def test_a_follower_asks_to_reach_its_leaders_master_port_and_a_dropped_connection_is_refused():
    from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import server_plan
    follower = node('gpu-b', vllm_server_node_address='10.0.0.2')['_node']
    assert server_plan.master_target(follower) == '10.0.0.1:29501'
    assert server_plan.reach_problems(follower, {'10.0.0.1:29501': 'refused'}, 'gpu-b') == []
    assert server_plan.reach_problems(follower, {'10.0.0.1:29501': 'open'}, 'gpu-b') == []
    assert server_plan.reach_problems(follower, {'10.0.0.1:29501': 'timeout'}, 'gpu-b') == [
        'gpu-b cannot reach its leader gpu-a at 10.0.0.1:29501 (vllm_server_node_address of gpu-a, vllm_server_master_port): '
        'timeout. Open that port between the nodes (a firewall or a security group drops it), or give the address on the '
        'network between them']
    assert server_plan.reach_problems(node('gpu-a')['_node'], {'10.0.0.1:29501': 'timeout'}, 'gpu-a') == []  # the leader


def test_on_loopback_every_loopback_address_is_the_nodes_as_linux_routes_them():
    from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import server_plan
    s = node('gpu-a', vllm_server_node_address='127.0.0.61', vllm_server_collective_ifname='lo')
    assert server_plan.interface_problems(s, {'exists': True, 'addresses': ['127.0.0.1'], 'all': ['lo']}, 'gpu-a') == []
    assert server_group.on_interface('127.0.0.61', ['127.0.0.1'])
    assert not server_group.on_interface('127.0.0.61', ['10.0.0.1'])
    assert not server_group.on_interface('10.0.0.2', ['127.0.0.1', '10.0.0.1'])
    assert not server_group.on_interface('not-an-address', ['127.0.0.1'])


def test_the_name_the_runtime_knows_may_differ_between_nodes_that_share_an_engine():
    assert server_group.mismatches(node('gpu-a', vllm_server_name='a'), 'gpu-a',
                                   {'gpu-b': node('gpu-b', vllm_server_name='b', vllm_server_node_address='10.0.0.2')}) == []


# The rollout, the gateway and the benchmark see a server across nodes as one server: its leader serves the API.
NODES_OF = {'a': None, 'f2': ['l', 'f1', 'f2'], 'l': ['l', 'f1', 'f2'], 'b': [], 'f1': ['l', 'f1', 'f2'], 'c': 'l'}


def test_a_follower_names_its_leader_and_a_leader_or_a_one_node_server_none():
    assert [server_group.leader_of(h, NODES_OF[h]) for h in ('a', 'l', 'f1', 'f2', 'b', 'c')] == ['', '', 'l', 'l', '', '']


def test_the_units_keep_a_group_whole_in_rank_order_at_its_first_nodes_place():
    assert server_group.units(['a', 'f2', 'b', 'l', 'f1', 'c'], NODES_OF) == [['a'], ['l', 'f1', 'f2'], ['b'], ['c']]
    # A node left out of the run (the plan refuses that before any change) is not made up.
    assert server_group.units(['f1', 'a', 'l'], NODES_OF) == [['l', 'f1'], ['a']]
    assert server_group.units([], NODES_OF) == []


def test_the_serving_nodes_leave_the_followers_out():
    assert server_group.serving(['a', 'f2', 'l', 'f1', 'b'], NODES_OF) == ['a', 'l', 'b']


def test_the_filters_read_the_groups_from_hostvars():
    from ansible_collections.inferops.gpu_inference.plugins.filter import server as server_filter
    hostvars = dict((h, {'vllm_server_nodes': n} if n is not None else {}) for h, n in NODES_OF.items())
    assert server_filter.server_units(['f1', 'a', 'l', 'f2'], hostvars) == [['l', 'f1', 'f2'], ['a']]
    assert server_filter.serving_nodes(['f1', 'a', 'l', 'f2'], hostvars) == ['a', 'l']
    assert server_filter.server_leader('f1', ['l', 'f1']) == 'l' and server_filter.server_leader('l', ['l', 'f1']) == ''


def test_a_comma_separated_list_of_nodes_reads_as_the_role_reads_it():
    assert server_group.node_list('l, f1,f2') == ['l', 'f1', 'f2']
    assert server_group.node_list(None) == [] and server_group.node_list('') == [] and server_group.node_list({'a': 1}) == []
    assert server_group.leader_of('f1', 'l,f1') == 'l'
    assert server_group.units(['f1', 'l', 'a'], {'f1': 'l,f1', 'l': 'l,f1'}) == [['l', 'f1'], ['a']]
    assert server_group.serving(['f1', 'l'], {'f1': 'l,f1', 'l': 'l,f1'}) == ['l']


def test_a_look_at_one_node_takes_its_whole_server():
    from ansible_collections.inferops.gpu_inference.plugins.filter import server as server_filter
    assert server_group.whole(['f2', 'a'], NODES_OF) == ['l', 'f1', 'f2', 'a']
    assert server_group.whole(['a', 'b'], NODES_OF) == ['a', 'b']
    hostvars = {'f1': {'vllm_server_nodes': ['l', 'f1']}, 'l': {'vllm_server_nodes': ['l', 'f1']}, 'x': {}}
    assert server_filter.whole_servers(['x', 'f1'], hostvars) == ['x', 'l', 'f1']
    assert server_filter.server_nodes('f1', 'l,f1') == ['l', 'f1'] and server_filter.server_nodes('x', []) == ['x']
