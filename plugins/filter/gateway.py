# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: gateway_member_problems
short_description: What is wrong with the members of a vLLM gateway, before HAProxy's configuration is written
version_added: 0.3.0
description:
  - Checks each member of the gateway's backend (as R(inferops.gpu_inference.vllm_gateway,ansible_collections.inferops.gpu_inference.vllm_gateway_role)
    computes them from C(vllm_gateway_nodes)) before it is written as a
    C(server) line of C(haproxy.cfg) - so that a value from an inventory, a pod's port mapping or host vars cannot
    add a line (a second C(server), a route to any address) or an option to the configuration.
  - The name must be an inventory host name of letters, digits, C(.), C(_) and C(-), starting with a letter or a
    digit (253 characters at most). The address must be an IP address (IPv4 or IPv6, without a zone index) or a
    DNS host name (RFC 1123 labels of letters, digits and hyphens, joined by dots; 253 characters at most). The port
    must be a whole number from 1 to 65535, an integer or a string of digits (V(true), V(0), V(70000), C("8000\n")
    are not). A name used twice is a problem too.
  - Returns the problems as strings, each naming the node, the variable the value came from, the value
    (JSON-quoted, cut short) and what is allowed; an empty list when the members are fine.
author:
  - inferops engineers (@inferops)
options:
  _input:
    description:
      - The members, each a dictionary with C(name) (the inventory host), C(address), C(port), and optionally
        C(address_var) and C(port_var), the names of the variables the address and the port came from (for the
        messages; V(inventory_hostname) for an address that is the node's name, none for the default port).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Check the members before HAProxy's configuration is written
  ansible.builtin.assert:
    that: members | inferops.gpu_inference.gateway_member_problems | length == 0
    fail_msg: "{{ members | inferops.gpu_inference.gateway_member_problems | join('; ') }}"
  vars:
    members:
      - {name: node1, address: 10.0.0.5, port: 8000, address_var: vllm_gateway_node_address, port_var: vllm_server_port}
      - {name: node2, address: pod-7.example.com, port: "40123", address_var: ansible_host, port_var: vllm_gateway_node_port}
"""

RETURN = r"""
_value:
  description: The problems; empty when there are none.
  type: list
  elements: str
  sample:
    - 'node1: vllm_gateway_node_port=70000 must be a port from 1 to 65535'
"""

from ansible_collections.inferops.gpu_inference.plugins.module_utils.addresses import (
    HOST_NAME_RULE, INVENTORY_NAME_RULE, PORT_RULE, is_address, is_inventory_name, port_number, shorten)


def _member_problems(member, index):
    problems = []
    name = member.get('name')
    if not is_inventory_name(name):
        problems.append('vllm_gateway_nodes[%d]=%s must be %s' % (index, shorten(name), INVENTORY_NAME_RULE))
        where = 'vllm_gateway_nodes[%d]' % index
    else:
        where = name
    address, address_var = member.get('address'), member.get('address_var') or 'address'
    if not is_address(address):
        if address_var == 'inventory_hostname':
            problems.append('%s: the address %s (the node\'s inventory name: neither vllm_gateway_node_address nor '
                            'ansible_host is set) must be %s' % (where, shorten(address), HOST_NAME_RULE))
        else:
            problems.append('%s: %s=%s must be %s' % (where, address_var, shorten(address), HOST_NAME_RULE))
    port, port_var = member.get('port'), member.get('port_var') or 'port'
    if port_number(port) is None:
        problems.append('%s: %s=%s must be %s' % (where, port_var, shorten(port), PORT_RULE))
    return problems


def gateway_member_problems(members):
    if not isinstance(members, list):
        return ['the gateway members must be a list of dictionaries (name, address, port), not %s' % shorten(members)]
    problems, names = [], []
    for index, member in enumerate(members):
        if not isinstance(member, dict):
            problems.append('gateway member %d must be a dictionary (name, address, port), not %s' % (index, shorten(member)))
            continue
        problems.extend(_member_problems(member, index))
        if member.get('name') in names:
            problems.append('vllm_gateway_nodes names %s twice' % shorten(member.get('name')))
        names.append(member.get('name'))
    return problems


class FilterModule(object):
    def filters(self):
        return {'gateway_member_problems': gateway_member_problems}
