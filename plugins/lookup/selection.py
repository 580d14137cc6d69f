# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: selection
short_description: The hosts a collection playbook works on - never none
version_added: 0.3.0
description:
  - The inventory hosts a host pattern names (a group, host names, any Ansible pattern), narrowed by C(--limit) as
    Ansible narrows a play, in inventory order.
  - Fails (except under C(--syntax-check)), naming the variable, its value and the limit, when they leave no host - where a play's C(hosts) would
    otherwise be skipped with a warning and the playbook end with exit 0, having checked, deployed or reported nothing.
  - The collection's playbooks use it for their plays' C(hosts) (C(hosts - "{{ query('inferops.gpu_inference.selection',
    inferops_hosts | default('gpu_nodes')) }}")), so an C(inferops_hosts) that matches nothing stops the run before any
    host or provider is touched.
author:
  - inferops engineers (@inferops)
options:
  _terms:
    description: The host pattern (one string; C(gpu_nodes) when none is given).
    type: list
    elements: raw
  variable:
    description: The variable the pattern came from, for the message.
    type: str
    default: inferops_hosts
"""

EXAMPLES = r"""
- name: Check GPU nodes
  hosts: "{{ query('inferops.gpu_inference.selection', inferops_hosts | default('gpu_nodes')) }}"
  gather_facts: false
  tasks: []
"""

RETURN = r"""
_list:
  description: The host names, in inventory order.
  type: list
  elements: str
"""

import json
import re

from ansible import context
from ansible.errors import AnsibleError, AnsibleLookupError
from ansible.inventory.manager import InventoryManager
from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        variables = variables or {}
        pattern = terms[0] if len(terms) == 1 else (terms or 'gpu_nodes')
        parts = pattern if isinstance(pattern, list) else re.split(r'[,:]', pattern) if isinstance(pattern, str) else []
        # A blank pattern (',', ' ', '&') reads as 'all' to Ansible: every host, gateways included.
        if not any(isinstance(part, str) and part.strip(' &!') for part in parts):
            raise AnsibleLookupError('%s=%s must be a host pattern: a group or host names of the inventory' % (
                self.get_option('variable'), json.dumps(pattern, default=str)))
        manager = InventoryManager(self._loader, parse=False)
        for group, hosts in (variables.get('groups') or {}).items():
            manager.add_group(group)
            for host in hosts:
                manager.add_host(host, group=group)
        limit = variables.get('ansible_limit')
        try:
            if limit:
                manager.subset(limit)
            chosen = [host.name for host in manager.get_hosts(pattern=pattern)]
        except (AnsibleError, IndexError, ValueError) as exc:
            raise AnsibleLookupError('%s=%s is not a host pattern Ansible reads: %s' % (
                self.get_option('variable'), json.dumps(pattern, default=str), exc))
        if not chosen and not context.CLIARGS.get('syntax'):
            raise AnsibleLookupError(
                '%s=%s%s matches no host of the inventory: nothing would be checked, deployed or reported. Name a group '
                'or hosts that exist (ansible-inventory --graph lists them)' % (
                    self.get_option('variable'), json.dumps(pattern, default=str),
                    ' with --limit %s' % json.dumps(limit, default=str) if limit else ''))
        return chosen
