"""plugins/lookup/role_problems.py: the rules across a role's settings, as the roles vllm_gateway, droplet and vllm_bench
get them in their validate step (query('inferops.gpu_inference.role_problems', ROLE[, entry_point=...])).

The lookup runs as Ansible runs it: a real DataLoader and Templar over the task's variables, which are the role's
defaults and vars (loaded as Ansible loads them: their templates resolved by the lookup) plus the inventory's. Covers:
no problem with good settings; templated defaults and the gateway's members (worked out from the nodes' host variables
by the role's vars) followed; the problems of bad settings; the context each role's rules read (the inventory, this
host's name and address, the host's variable names); missing variables, an unknown role or entry point named.
"""
import os

import pytest

from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.inferops.gpu_inference.plugins.lookup.role_problems import RULES, LookupModule
from unit_support import ROOT

GROUPS = {'all': ['node1', 'node2', 'gw1'], 'ungrouped': [], 'gpu_nodes': ['node1', 'node2'], 'vllm_gateways': ['gw1']}
HOSTVARS = {'node1': {'ansible_host': '10.0.0.5', 'vllm_server_port': 8000},
            'node2': {'ansible_host': '10.0.0.6', 'vllm_gateway_node_port': 40123}, 'gw1': {}}
TOKEN = 'dop_v1_unit_test_token_0123456789'


pytestmark = pytest.mark.usefixtures('collection_loader')


def role_file(loader, role, folder):
    """A role's defaults or vars as Ansible loads them: their strings templates (2.19 marks them trusted; 2.18 trusts
    every string)."""
    path = os.path.join(ROOT, 'roles', role, folder, 'main.yml')
    if not os.path.exists(path):
        return {}
    try:
        return dict(loader.load_from_file(path, trusted_as_template=True))
    except TypeError:  # ansible-core 2.18
        return dict(loader.load_from_file(path))


def task_vars(role, host='gw1', **values):
    loader = DataLoader()
    variables = role_file(loader, role, 'defaults')
    variables.update(role_file(loader, role, 'vars'))
    variables.update(groups=GROUPS, hostvars=HOSTVARS, inventory_hostname=host)
    variables.update(HOSTVARS.get(host, {}))
    variables.update(values)
    return variables


def query(role, variables, **kwargs):
    loader = DataLoader()
    found = LookupModule(loader=loader, templar=Templar(loader=loader, variables=variables)).run([role], variables, **kwargs)
    assert isinstance(found, list) and all(isinstance(p, str) for p in found)
    return found


def test_each_role_with_rules_has_one_function_and_the_settings_it_reads():
    for module in RULES.values():
        assert callable(module.problems) and 'main' in module.SETTINGS


def test_the_gateway_defaults_have_no_problem_and_the_members_come_from_the_nodes_host_variables():
    assert query('vllm_gateway', task_vars('vllm_gateway')) == []
    bad_node = dict(HOSTVARS, node2={'vllm_gateway_node_address': '10.0.0.6; touch x'})
    assert query('vllm_gateway', task_vars('vllm_gateway', hostvars=bad_node)) == [
        'node2: vllm_gateway_node_address="10.0.0.6; touch x" must be an IP address or a DNS host name '
        '(letters, digits, hyphens and dots, 253 characters at most)']


def test_the_gateway_reads_the_inventory_and_this_host_address():
    found = query('vllm_gateway', task_vars('vllm_gateway', vllm_gateway_nodes=['node1', 'nodeX'], vllm_gateway_listen_port=40123,
                                            ansible_host='10.0.0.6'))
    assert found == ['vllm_gateway_nodes names hosts that are not in the inventory: nodeX']
    found = query('vllm_gateway', task_vars('vllm_gateway', vllm_gateway_listen_port=40123, ansible_host='10.0.0.6'))
    assert found == ['vllm_gateway_listen_port=40123 on 127.0.0.1 is the vLLM port of node2, which listens at the same address: '
                     'choose another vllm_gateway_listen_port']


def test_the_gateway_member_entry_point():
    variables = task_vars('vllm_gateway', host='node1', vllm_gateway_member_state='disabled', vllm_gateway_hosts=['gw1'])
    assert query('vllm_gateway', variables, entry_point='member') == []
    variables['vllm_gateway_hosts'] = ['gw2']
    assert query('vllm_gateway', variables, entry_point='member') == [
        'vllm_gateway_hosts (gw2) must be inventory hosts; not in the inventory: gw2']


def test_droplet_reads_its_token_and_never_shows_it(monkeypatch):
    monkeypatch.setenv('DO_API_TOKEN', TOKEN)
    droplet = {'name': 'gpu-a', 'size': 'gpu-h100x1-80gb'}
    assert query('droplet', task_vars('droplet', host='localhost', droplet_list=[droplet])) == []
    found = query('droplet', task_vars('droplet', host='localhost', droplet_list=[dict(droplet, name='gpu_a')], droplet_ssh_port=0))
    assert found == ['droplet_list name(s) "gpu_a" must be host names: 1 to 63 letters, digits, . or -, starting and ending with '
                     'a letter or digit', 'droplet_ssh_port=0 must be a port from 1 to 65535']
    monkeypatch.delenv('DO_API_TOKEN')
    monkeypatch.delenv('DIGITALOCEAN_TOKEN', raising=False)
    assert query('droplet', task_vars('droplet', host='localhost')) == [
        'no DigitalOcean token: set DO_API_TOKEN or DIGITALOCEAN_TOKEN in the environment']


def bench_vars(**values):
    # The served model as the inventory gives it (its default goes through a filter of this collection, which a
    # Templar outside ansible-playbook does not load).
    return task_vars('vllm_bench', host='node1', **dict({'vllm_bench_model': 'tiny-model'}, **values))


def test_bench_templated_defaults_are_followed():
    assert query('vllm_bench', bench_vars()) == []
    assert query('vllm_bench', bench_vars(), entry_point='capacity') == []
    # The default container is the server's name; the default price the inventory's.
    assert query('vllm_bench', bench_vars(vllm_server_name='bad name')) == [
        'vllm_bench_container="bad name" must be a container name (letters, digits, . _ -)']
    assert query('vllm_bench', bench_vars(runpod_cost_per_hr=-1)) == ['vllm_bench_price_per_hour=-1 must be 0 (no cost column) or more']


def test_bench_names_a_mistyped_variable_and_checks_the_search_for_capacity():
    found = query('vllm_bench', bench_vars(vllm_bench_timout=5, vllm_bench_capacity_max_runs=1), entry_point='capacity')
    assert found == ['vllm_bench_capacity_max_runs=1 must be 2 or more',
                     'vllm_bench_timout is not a variable of the role vllm_bench (did you mean vllm_bench_timeout?)']


@pytest.mark.parametrize('role,typo,closest', [
    ('droplet', 'droplet_ssh_usr', 'droplet_ssh_user'),
    ('vllm_gateway', 'vllm_gateway_listen_prot', 'vllm_gateway_listen_port'),
    ('gpu_host_setup', 'gpu_host_setup_cdi_spc', 'gpu_host_setup_cdi_spec'),
])
def test_every_role_names_a_mistyped_variable(role, typo, closest, monkeypatch):
    monkeypatch.setenv('DO_API_TOKEN', 'dop_v1_' + 'a' * 64)
    variables = task_vars(role, host='localhost' if role == 'droplet' else 'node1')
    before = query(role, variables)
    variables[typo] = 1
    assert query(role, variables) == before + ['%s is not a variable of the role %s (did you mean %s?)' % (typo, role, closest)]


def test_the_outputs_of_a_role_are_not_mistyped_settings():
    assert query('vllm_bench', bench_vars(vllm_bench_records=[], vllm_bench_misses=[], vllm_bench_capacity={})) == []
    assert query('vllm_bench', bench_vars(vllm_bench_extra_args='--x')) == [
        'vllm_bench_extra_args is not a variable of the role vllm_bench; its settings are listed by ansible-doc -t role']


def test_missing_variables_an_unknown_role_or_entry_point_are_errors():
    variables = task_vars('vllm_gateway')
    del variables['vllm_gateway_backend']
    with pytest.raises(AnsibleLookupError, match='vllm_gateway_backend not defined'):
        query('vllm_gateway', variables)
    with pytest.raises(AnsibleLookupError, match='give one role, one of droplet, gpu_host_setup, vllm_bench, vllm_gateway'):
        query('vllm_server', task_vars('vllm_gateway'))
    with pytest.raises(AnsibleLookupError, match='droplet has no rules for the entry point member'):
        query('droplet', task_vars('droplet'), entry_point='member')


def test_the_gateway_routes_to_the_leader_of_a_server_across_nodes_and_refuses_a_follower():
    group = {'vllm_server_nodes': ['node2', 'node1']}  # node2 leads
    hostvars = dict(HOSTVARS, node1=dict(HOSTVARS['node1'], **group), node2=dict(HOSTVARS['node2'], **group))
    variables = task_vars('vllm_gateway', hostvars=hostvars)
    assert query('vllm_gateway', variables) == []
    assert Templar(loader=DataLoader(), variables=variables).template(variables['vllm_gateway_nodes']) == ['node2']
    assert query('vllm_gateway', task_vars('vllm_gateway', hostvars=hostvars, vllm_gateway_nodes=['node1', 'node2'])) == [
        'node1 is a follower of the server across nodes "node2" leads (vllm_server_nodes): it serves no API of its own; '
        'list "node2" in vllm_gateway_nodes instead']
