# -*- coding: utf-8 -*-
# Copyright: inferops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules across the settings of the role vllm_gateway (its argument spec checks types and choices).

``problems(settings, context, entry_point)`` returns one message per broken rule, naming the variable, its value and
what is allowed; the role's validate step gets them from the lookup ``inferops.gpu_inference.role_problems`` once,
before any change, and fails listing all of them. ``member_problems(members)`` judges each node of the backend
before it is written as a server line of haproxy.cfg (the filter ``gateway_member_problems`` is this function).

Entry point main: the nodes (not empty, in the inventory, a list), the listening address, port and backend name as
HAProxy's configuration gets them, the balance, and no node whose vLLM listens at the gateway's own address and port.
Entry point member: the state and the gateway hosts (inventory hosts).
"""
from __future__ import annotations

from ansible_collections.inferops.gpu_inference.plugins.module_utils.addresses import (
    HOST_NAME_RULE, INVENTORY_NAME_RULE, PORT_RULE, is_address, is_inventory_name, is_ip, port_number, shorten)
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.rule_values import (
    as_int, fullmatch, items_of, missing, not_lists, to_json, unique)

# The variables each entry point's rules read (role options, and the members vars/main.yml works out from the nodes'
# host variables: the template writes the same list).
SETTINGS = {
    'main': ('vllm_gateway_nodes', 'vllm_gateway_listen_address', 'vllm_gateway_listen_port', 'vllm_gateway_balance',
             'vllm_gateway_backend', '_vllm_gateway_members'),
    'member': ('vllm_gateway_member_state', 'vllm_gateway_hosts'),
}
# Read when defined: this host's own address (a node served here clashes with the gateway's port).
OPTIONAL = ('ansible_host',)
BALANCES = ('roundrobin', 'leastconn', 'random', 'first')
MEMBER_STATES = ('enabled', 'disabled')
# Addresses at which a node on the gateway host itself listens where the gateway does.
LOCAL_ADDRESSES = ('127.0.0.1', 'localhost', '::1', '*', '0.0.0.0')


def problems(settings, context, entry_point='main'):
    """The rules across settings; ``context``: inventory_hosts (groups['all']), inventory_hostname, ansible_host."""
    if entry_point == 'member':
        return _member_entry_problems(settings, context)
    out = not_lists(settings, ('vllm_gateway_nodes',))
    nodes = items_of(settings['vllm_gateway_nodes'])
    if not nodes:
        out.append('vllm_gateway_nodes is empty: list the inventory hosts of the vLLM nodes (default: the gpu_nodes group)')
    unknown = missing(nodes, context['inventory_hosts'])
    if unknown:
        out.append('vllm_gateway_nodes names hosts that are not in the inventory: ' + ', '.join(str(n) for n in unknown))
    port, address = settings['vllm_gateway_listen_port'], settings['vllm_gateway_listen_address']
    if not 1 <= as_int(port) <= 65535:
        out.append('vllm_gateway_listen_port=%s must be a port from 1 to 65535' % port)
    if settings['vllm_gateway_balance'] not in BALANCES:
        out.append('vllm_gateway_balance=%s must be one of %s' % (settings['vllm_gateway_balance'], ', '.join(BALANCES)))
    if not (is_ip(address) or address in ('*', 'localhost')):
        out.append('vllm_gateway_listen_address=%s must be an IP address, * or localhost' % to_json(address))
    members = settings['_vllm_gateway_members']
    clashes = _clashes(members if isinstance(members, list) else [], port, address, context)
    if clashes:
        out.append('vllm_gateway_listen_port=%s on %s is the vLLM port of %s, which listens at the same address: '
                   'choose another vllm_gateway_listen_port' % (port, address, ', '.join(clashes)))
    if not fullmatch(r'[A-Za-z0-9_-]+', settings['vllm_gateway_backend']):
        out.append('vllm_gateway_backend=%s must be letters, digits, _ or -' % to_json(settings['vllm_gateway_backend']))
    return out + member_problems(members)


def _clashes(members, port, address, context):
    """The nodes served at this gateway's own listening address and port (this host, or the same address)."""
    host = context['inventory_hostname']
    own = unique(list(LOCAL_ADDRESSES) + [address, host if context.get('ansible_host') is None else context['ansible_host']])
    return [m.get('name') for m in members if isinstance(m, dict) and as_int(m.get('port')) == as_int(port)
            and (m.get('name') == host or m.get('address') in own)]


def _member_entry_problems(settings, context):
    state, hosts = settings['vllm_gateway_member_state'], settings['vllm_gateway_hosts']
    out = [] if state in MEMBER_STATES else ['vllm_gateway_member_state=%s must be enabled or disabled' % state]
    out += not_lists(settings, ('vllm_gateway_hosts',))
    unknown = missing(items_of(hosts), context['inventory_hosts'])
    if unknown:
        out.append('vllm_gateway_hosts (%s) must be inventory hosts; not in the inventory: %s'
                   % (', '.join(str(h) for h in items_of(hosts)), ', '.join(str(h) for h in unknown)))
    return out


def _member(member, index):
    found = []
    name = member.get('name')
    if not is_inventory_name(name):
        found.append('vllm_gateway_nodes[%d]=%s must be %s' % (index, shorten(name), INVENTORY_NAME_RULE))
        where = 'vllm_gateway_nodes[%d]' % index
    else:
        where = name
    address, address_var = member.get('address'), member.get('address_var') or 'address'
    if not is_address(address):
        if address_var == 'inventory_hostname':
            found.append('%s: the address %s (the node\'s inventory name: neither vllm_gateway_node_address nor '
                         'ansible_host is set) must be %s' % (where, shorten(address), HOST_NAME_RULE))
        else:
            found.append('%s: %s=%s must be %s' % (where, address_var, shorten(address), HOST_NAME_RULE))
    port, port_var = member.get('port'), member.get('port_var') or 'port'
    if port_number(port) is None:
        found.append('%s: %s=%s must be %s' % (where, port_var, shorten(port), PORT_RULE))
    if member.get('leader'):  # the follower of a server across nodes: its leader alone serves the API
        found.append('%s is a follower of the server across nodes %s leads (vllm_server_nodes): it serves no API of its own; '
                     'list %s in vllm_gateway_nodes instead' % (where, shorten(member['leader']), shorten(member['leader'])))
    if member.get('gpu') and port_number(member.get('dcgm_port')) is None:  # the serving check reads its dcgm-exporter there
        found.append('%s: %s=%s must be %s' % (where, member.get('dcgm_port_var') or 'dcgm_port', shorten(member.get('dcgm_port')),
                                               PORT_RULE))
    return found


def member_problems(members):
    """Each member of the backend ({name, address, port, address_var, port_var}) before it is written as a server line:
    the name an inventory name of one token, the address an IP address or a DNS host name, the port 1 to 65535, no
    name twice."""
    if not isinstance(members, list):
        return ['the gateway members must be a list of dictionaries (name, address, port), not %s' % shorten(members)]
    found, names = [], []
    for index, member in enumerate(members):
        if not isinstance(member, dict):
            found.append('gateway member %d must be a dictionary (name, address, port), not %s' % (index, shorten(member)))
            continue
        found.extend(_member(member, index))
        if member.get('name') in names:
            found.append('vllm_gateway_nodes names %s twice' % shorten(member.get('name')))
        names.append(member.get('name'))
    return found
