# -*- coding: utf-8 -*-
# Copyright: inferops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One vLLM server across several nodes: the group, as the inventory says it, and its rules.

The inventory names the nodes of one server in vllm_server_nodes (the same list on each of them, such as
"{{ groups['llama70b'] }}"), in rank order: the first is the leader, which serves the API; the others run headless.
Each node says its address on the network between them (vllm_server_node_address: vLLM's VLLM_HOST_IP; the leader's
is the master address) and the interface the collectives use (vllm_server_collective_ifname: GLOO_SOCKET_IFNAME and
NCCL_SOCKET_IFNAME). vLLM's multiprocessing backend runs it (--nnodes, --node-rank, --master-addr, --master-port,
--headless): no Ray cluster to keep. Tensor parallel inside a node, pipeline parallel across: TP x PP ranks, TP x PP /
nodes on each node.

node_of() is the node's place in its group (None for a one-node server); problems() the rules of one node's settings;
mismatches() what differs between the nodes' settings (each node checks it against every other, before any change).
"""
from __future__ import annotations

import ipaddress
import re

from ansible.module_utils.common.validation import check_type_list

from ansible_collections.inferops.gpu_inference.plugins.module_utils import addresses

# What must be alike on every node of a group: one server. (The node's own address, its GPUs' ids, its folders and the
# name its runtime knows the server by may differ: nodes that share a container engine need names of their own.)
ALIKE = ('vllm_server_runtime', 'vllm_server_accelerator', 'vllm_server_image', 'vllm_server_pip_spec', 'vllm_server_model',
         'vllm_server_model_source', 'vllm_server_model_revision', 'vllm_server_served_model_name',
         'vllm_server_tensor_parallel_size', 'vllm_server_pipeline_parallel_size', 'vllm_server_max_model_len',
         'vllm_server_dtype', 'vllm_server_quantization', 'vllm_server_extra_args', 'vllm_server_port',
         'vllm_server_master_port', 'vllm_server_nodes', 'vllm_server_collective_ifname', 'vllm_server_api_key')
# Compared, never shown.
SECRETS = ('vllm_server_api_key',)
IFNAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,14}\Z')
BACKEND = 'mp'


def nodes(s):
    return [str(n) for n in s['vllm_server_nodes']]


def node_of(s, host, leader_address=''):
    """This node's place in its group: {'rank', 'nnodes', 'leader', 'nodes', 'master_addr', 'master_port', 'address',
    'ifname'}, or None for a one-node server (vllm_server_nodes empty)."""
    group = nodes(s)
    if not group:
        return None
    return {'rank': group.index(host) if host in group else -1, 'nnodes': len(group), 'leader': group[0], 'nodes': group,
            'master_addr': leader_address, 'master_port': int(s['vllm_server_master_port']),
            'address': s['vllm_server_node_address'], 'ifname': s['vllm_server_collective_ifname']}


def local_ranks(s):
    """The ranks (GPUs) each node runs: TP x PP / nodes."""
    world = int(s['vllm_server_tensor_parallel_size']) * int(s['vllm_server_pipeline_parallel_size'])
    return world // max(len(nodes(s)), 1)


def problems(s, host, inventory_hosts=()):
    """The rules of a group on this node's own settings (none for a one-node server)."""
    group = nodes(s)
    if not group:
        return []
    out = []
    tp, pp = int(s['vllm_server_tensor_parallel_size']), int(s['vllm_server_pipeline_parallel_size'])
    unknown = [n for n in group if inventory_hosts and n not in inventory_hosts]
    if unknown:
        out.append('vllm_server_nodes names %s, not in the inventory' % ', '.join(unknown))
    if len(set(group)) != len(group):
        out.append('vllm_server_nodes=%s names a node twice' % group)
    if len(group) < 2:
        out.append('vllm_server_nodes=%s: a server across nodes needs 2 or more (leave it empty for a one-node server)' % group)
    if host not in group:
        out.append('vllm_server_nodes=%s does not name %s, whose settings set it: give it to the nodes of that server only '
                   '(group_vars of its group)' % (group, host))
    if len(group) >= 2 and (tp * pp) % len(group):
        out.append('vllm_server_tensor_parallel_size=%d x vllm_server_pipeline_parallel_size=%d = %d ranks cannot be split evenly '
                   'over the %d nodes of vllm_server_nodes' % (tp, pp, tp * pp, len(group)))
    elif len(group) >= 2 and tp > local_ranks(s):
        out.append('vllm_server_tensor_parallel_size=%d is more than the %d GPU(s) each of the %d nodes runs (TP x PP / nodes): '
                   'tensor parallel stays inside a node, pipeline parallel goes across (such as TP=%d, PP=%d)'
                   % (tp, local_ranks(s), len(group), local_ranks(s), tp * pp // max(local_ranks(s), 1)))
    if not addresses.is_ip(s['vllm_server_node_address']):
        out.append('vllm_server_node_address=%r must be the IP address of %s on the network between the nodes of the server '
                   '(VLLM_HOST_IP; the leader\'s is where the others connect)' % (s['vllm_server_node_address'], host))
    if not IFNAME_RE.match(s['vllm_server_collective_ifname']):
        out.append('vllm_server_collective_ifname=%r must name the network interface of that network (such as eth1), for '
                   'GLOO_SOCKET_IFNAME and NCCL_SOCKET_IFNAME' % s['vllm_server_collective_ifname'])
    port = s['vllm_server_master_port']
    if not (1 <= int(port) <= 65535) or int(port) == int(s['vllm_server_port']):
        out.append('vllm_server_master_port=%s must be %s, other than vllm_server_port' % (port, addresses.PORT_RULE))
    if s['vllm_server_bind_address'] in ('127.0.0.1', 'localhost', '::1'):
        out.append('vllm_server_bind_address=%s: the nodes of a server across nodes reach its leader\'s API (their gate asks '
                   'it), so it must listen on the network between them (0.0.0.0, or the node\'s address)'
                   % s['vllm_server_bind_address'])
    return out


def mismatches(s, host, peers):
    """What differs between this node's settings and each other node's of the group: peers {host: settings}."""
    out = []
    for peer, theirs in sorted(peers.items()):
        if peer == host:
            continue
        differ = [name for name in ALIKE if _norm(s.get(name)) != _norm(theirs.get(name))]
        if differ:
            out.append('the nodes of one server must run it alike: %s differs between %s and %s (%s)'
                       % (', '.join(differ), host, peer,
                          '; '.join('%s: %r vs %r' % (n, s.get(n), theirs.get(n)) if n not in SECRETS else '%s: not shown' % n
                                    for n in differ[:3])))
        if theirs.get('vllm_server_node_address') == s['vllm_server_node_address'] and s['vllm_server_node_address']:
            out.append('vllm_server_node_address=%s is both %s\'s and %s\'s: each node has its own' % (s['vllm_server_node_address'], host, peer))
    return out


def _norm(value):
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else str(value if value is not None else '')


def argv(node):
    """What vllm serve gets on a node of a group."""
    out = ['--nnodes=%d' % node['nnodes'], '--node-rank=%d' % node['rank'], '--master-addr=%s' % node['master_addr'],
           '--master-port=%d' % node['master_port'], '--distributed-executor-backend=%s' % BACKEND]
    return out + (['--headless'] if node['rank'] > 0 else [])


def env(node):
    """The environment of a node of a group: its address and the collectives' interface."""
    return {'VLLM_HOST_IP': node['address'], 'GLOO_SOCKET_IFNAME': node['ifname'], 'NCCL_SOCKET_IFNAME': node['ifname']}


def leader_url(s, node):
    """The API of the group's server, as every node of it reaches it (a follower's gate asks the leader)."""
    host = node['master_addr']
    return 'http://%s:%s' % ('[%s]' % host if ':' in host else host, s['vllm_server_port'])


def on_interface(address, addresses):
    """Whether ``address`` is the node's on the interface whose addresses are ``addresses``: one of them, or, on a
    loopback interface, any loopback address (Linux's local route makes all of 127.0.0.0/8 the host's, on lo)."""
    if address in addresses:
        return True
    loopback = ipaddress.ip_network('127.0.0.0/8')
    try:
        return ipaddress.ip_address(address) in loopback and any(ipaddress.ip_address(a) in loopback for a in addresses)
    except ValueError:
        return False


def node_list(value):
    """vllm_server_nodes as the role reads it (its argument spec's type list: a list, or a comma-separated string);
    [] for none or a value that is no list (the role's validation names it)."""
    if value is None or value == '':
        return []
    try:
        return [str(n).strip() for n in check_type_list(value)]
    except TypeError:
        return []


def leader_of(host, group):
    """The leader of the server across nodes ``group`` (vllm_server_nodes) when ``host`` is one of its followers, else
    '': a follower serves no API of its own (no gateway route, no benchmark: both go to the leader)."""
    group = node_list(group)
    return group[0] if str(host) in group[1:] else ''


def server_of(host, group):
    """The nodes of the server ``host`` runs: ``group`` (its vllm_server_nodes, in rank order) when it names the host,
    else the host alone."""
    group = node_list(group)
    return group if str(host) in group else [str(host)]


def whole(hosts, nodes_of):
    """``hosts`` with every node of each server across nodes one of them belongs to (in rank order, at its first
    node's place): the hosts a look at those servers needs (a follower's server is its leader's too)."""
    out = []
    for host in hosts:
        for node in server_of(host, nodes_of.get(host)):
            if node not in out:
                out.append(node)
    return out


def serving(hosts, nodes_of):
    """``hosts`` but the followers of a server across nodes (``nodes_of``: {host: its vllm_server_nodes}): the nodes that
    serve an API, which a gateway routes to and a benchmark measures."""
    return [h for h in hosts if not leader_of(h, nodes_of.get(h))]


def hostvars_nodes(hosts, hostvars):
    """{host: its vllm_server_nodes} from Ansible's hostvars (None where unset)."""
    return dict((host, node_list((hostvars.get(host) or {}).get('vllm_server_nodes'))) for host in hosts)


def units(hosts, nodes_of):
    """``hosts`` (a play's, in order) as the units a rollout replaces whole: each server across nodes as its nodes among
    ``hosts`` in rank order, at the place of the first of them; every other host alone. ``nodes_of``: {host: its
    vllm_server_nodes} (absent, empty or not a list: a one-node server; validation names a malformed one)."""
    out, placed = [], set()
    hosts = [str(h) for h in hosts]
    for host in hosts:
        if host in placed:
            continue
        group = node_list(nodes_of.get(host))
        unit = [n for n in group if n in hosts and n not in placed] if host in group else []
        unit = unit or [host]
        placed.update(unit)
        out.append(unit)
    return out
