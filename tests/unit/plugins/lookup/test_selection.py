"""plugins/lookup/selection.py: the hosts a collection playbook's plays work on, as the playbooks call it
(hosts: "{{ query('inferops.gpu_inference.selection', inferops_hosts | default('gpu_nodes')) }}").

The lookup runs as Ansible runs it, over the play's variables: `groups` (the inventory) and `ansible_limit` (--limit).
Covers: groups, host names and Ansible patterns, in inventory order; --limit narrowing them; and the refusals, each
naming the variable and its value: a blank pattern (which Ansible would read as every host), one that matches
nothing (with or without a limit), one Ansible cannot read. Under --syntax-check nothing is refused.
"""
import pytest

from ansible import context
from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.collections import ImmutableDict
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import lookup_loader
from ansible.template import Templar

from ansible_collections.inferops.gpu_inference.plugins.lookup import selection

NAME = 'inferops.gpu_inference.selection'
# The fleet as `groups` gives it: a gateway, three GPU nodes (inventory order node2, node1, node3), two of them H100s.
GROUPS = {'all': ['gw1', 'node2', 'node1', 'node3'], 'ungrouped': [], 'vllm_gateways': ['gw1'],
          'gpu_nodes': ['node2', 'node1', 'node3'], 'h100': ['node1', 'node3']}
NO_MATCH = 'matches no host of the inventory: nothing would be checked, deployed or reported. Name a group or hosts that exist ' \
           '(ansible-inventory --graph lists them)'

# What the plugin loader does before it hands out the plugin: its options registered with Ansible's configuration.
lookup_loader._load_config_defs(NAME, selection, selection.__file__)


def query(*terms, **kwargs):
    """query('inferops.gpu_inference.selection', *terms, **kwargs) over the play's variables (groups, ansible_limit)."""
    variables = {'groups': kwargs.pop('groups', GROUPS), 'inventory_hostname': 'localhost'}
    limit = kwargs.pop('limit', None)
    if limit is not None:
        variables['ansible_limit'] = limit
    loader = DataLoader()
    lookup = selection.LookupModule(loader=loader, templar=Templar(loader=loader, variables=variables))
    lookup._load_name = NAME
    return lookup.run(list(terms), variables=variables, **kwargs)


@pytest.mark.parametrize('terms,hosts', [
    (('gpu_nodes',), ['node2', 'node1', 'node3']),  # inventory order, not sorted
    ((), ['node2', 'node1', 'node3']),  # no pattern: gpu_nodes
    (('vllm_gateways',), ['gw1']),
    (('all',), GROUPS['all']),
    (('node1',), ['node1']),
    (('node1,gw1',), ['node1', 'gw1']),
    (('node1', 'gw1'), ['node1', 'gw1']),  # several terms: a list pattern
    ((['node3', 'node1'],), ['node3', 'node1']),
    (('gpu_nodes:&h100',), ['node1', 'node3']),
    (('gpu_nodes:!h100',), ['node2']),
    (('gpu_nodes,!node1',), ['node2', 'node3']),
    (('node*',), ['node2', 'node1', 'node3']),
    (('~node[13]',), ['node1', 'node3']),
    (('gpu_nodes[0]',), ['node2']),
    (('gpu_nodes[1:]',), ['node1', 'node3']),
])
def test_patterns_give_the_hosts_in_inventory_order(terms, hosts):
    assert query(*terms) == hosts


@pytest.mark.parametrize('limit,hosts', [('node1', ['node1']), ('h100', ['node1', 'node3']), ('node3,node2', ['node2', 'node3']),
                                         ('all:!node2', ['node1', 'node3']), (['node1'], ['node1']), ('', ['node2', 'node1', 'node3'])])
def test_a_limit_narrows_the_hosts_as_it_narrows_a_play(limit, hosts):
    assert query('gpu_nodes', limit=limit) == hosts


@pytest.mark.parametrize('pattern,shown', [('', '""'), (' ', '" "'), (',', '","'), (' , ', '" , "'), ('&', '"&"'), ('!', '"!"'),
                                           (':', '":"'), (None, 'null'), (5, '5'), ([], '[]'), ([''], '[""]')])
def test_a_blank_pattern_is_refused_naming_the_variable(pattern, shown):
    with pytest.raises(AnsibleLookupError) as info:
        query(pattern)
    assert str(info.value) == 'inferops_hosts=%s must be a host pattern: a group or host names of the inventory' % shown


def test_the_message_names_the_variable_the_pattern_came_from():
    with pytest.raises(AnsibleLookupError) as info:
        query(' ', variable='redeploy_hosts')
    assert str(info.value).startswith('redeploy_hosts=" " must be a host pattern')
    with pytest.raises(AnsibleLookupError) as info:
        query('gpu_nodez', variable='bench_hosts')
    assert str(info.value) == 'bench_hosts="gpu_nodez" ' + NO_MATCH


@pytest.mark.parametrize('pattern', ['gpu_nodez', 'node9', 'h100:&vllm_gateways', 'gpu_nodes:!gpu_nodes'])
def test_a_pattern_that_matches_nothing_is_refused(pattern):
    with pytest.raises(AnsibleLookupError) as info:
        query(pattern)
    assert str(info.value) == 'inferops_hosts="%s" %s' % (pattern, NO_MATCH)


def test_an_empty_inventory_matches_nothing():
    with pytest.raises(AnsibleLookupError, match='inferops_hosts="gpu_nodes" matches no host'):
        query('gpu_nodes', groups={'all': [], 'ungrouped': []})
    with pytest.raises(AnsibleLookupError, match='inferops_hosts="gpu_nodes" matches no host'):
        query('gpu_nodes', groups=None)


@pytest.mark.parametrize('limit', ['gw1', 'node9', 'vllm_gateways'])
def test_a_limit_that_leaves_no_host_is_named_with_the_pattern(limit):
    with pytest.raises(AnsibleLookupError) as info:
        query('gpu_nodes', limit=limit)
    assert str(info.value) == 'inferops_hosts="gpu_nodes" with --limit "%s" %s' % (limit, NO_MATCH)


@pytest.mark.parametrize('pattern,limit,words', [
    ('~(', None, 'inferops_hosts="~(" is not a host pattern Ansible reads: Invalid host list pattern: ~('),
    ('gpu_nodes[9]', None, 'inferops_hosts="gpu_nodes[9]" is not a host pattern Ansible reads: '),
    ('gpu_nodes', '@/nonexistent/retry', 'inferops_hosts="gpu_nodes" is not a host pattern Ansible reads: Unable to find limit file'),
])
def test_a_pattern_or_limit_ansible_cannot_read_is_refused(pattern, limit, words):
    with pytest.raises(AnsibleLookupError) as info:
        query(pattern, limit=limit)
    assert str(info.value).startswith(words)


def test_under_syntax_check_nothing_matching_is_not_refused(monkeypatch):
    monkeypatch.setattr(context, 'CLIARGS', ImmutableDict(syntax=True))
    assert query('gpu_nodez') == []
    assert query('gpu_nodes', limit='gw1') == []
    with pytest.raises(AnsibleLookupError, match='must be a host pattern'):  # a blank pattern still is
        query(' ')
