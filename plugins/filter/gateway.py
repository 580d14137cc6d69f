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

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.vllm_gateway_rules import member_problems

# The rules live with the role's other rules across settings (plugin_utils/vllm_gateway_rules.py); the role gets them
# through the lookup role_problems, and this filter stays for playbooks that judge members of their own.
gateway_member_problems = member_problems


class FilterModule(object):
    def filters(self):
        return {'gateway_member_problems': gateway_member_problems}
