# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: role_problems
short_description: What is wrong with a role's settings across each other, before the role changes anything
version_added: 0.5.0
description:
  - Reads the host's settings of a role of this collection (the variables that role's rules read, templated as a
    task's variables are) and returns the rules across settings that they break, one message each, naming the
    variable, its value and what is allowed; an empty list when there is none. Ansible's argument-spec validation
    checks each setting's type and choices first.
  - A variable of the host with the role's prefix that the role's argument spec does not list (a mistyped setting,
    which Ansible would ignore) is a problem too, naming the closest setting.
  - The rules are one Python function per role - C(plugins/plugin_utils/<role>_rules.py), C(problems()) - for the
    roles C(vllm_gateway), C(droplet), C(vllm_bench) and C(gpu_host_setup). C(vllm_server) has its own lookup,
    C(inferops.gpu_inference.vllm_server_spec), which also builds what its settings would run.
  - Each role calls it once, in its validate step (C(set_fact), then C(assert) on the result), before any change.
    Secrets are never shown in what it returns.
author:
  - inferops engineers (@inferops)
options:
  _terms:
    description: The role, one of C(vllm_gateway), C(droplet), C(vllm_bench), C(gpu_host_setup).
    type: list
    elements: str
    required: true
  entry_point:
    description: The role's entry point whose rules apply (C(member) of C(vllm_gateway), C(capacity) of C(vllm_bench)).
    type: str
    default: main
"""

EXAMPLES = r"""
- name: Check the settings (once, before any change)
  ansible.builtin.set_fact:
    _vllm_gateway_problems: "{{ query('inferops.gpu_inference.role_problems', 'vllm_gateway') }}"

- name: Fail listing every problem
  ansible.builtin.assert:
    that: _vllm_gateway_problems | length == 0
    fail_msg: "Invalid vllm_gateway settings for {{ inventory_hostname }}: {{ _vllm_gateway_problems | join('; ') }}"
    quiet: true
"""

RETURN = r"""
_list:
  description: The problems; empty when there are none.
  type: list
  elements: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.loader import lookup_loader
from ansible.plugins.lookup import LookupBase

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import (
    droplet_rules, gpu_host_setup_rules, role_variables, vllm_bench_rules, vllm_gateway_rules)

RULES = {'vllm_gateway': vllm_gateway_rules, 'droplet': droplet_rules, 'vllm_bench': vllm_bench_rules,
         'gpu_host_setup': gpu_host_setup_rules}


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        variables = variables or {}
        if len(terms) != 1 or terms[0] not in RULES:
            raise AnsibleLookupError('role_problems: give one role, one of %s (got %s)' % (', '.join(sorted(RULES)), list(terms)))
        rules = RULES[terms[0]]
        entry_point = kwargs.get('entry_point') or 'main'
        if entry_point not in rules.SETTINGS:
            raise AnsibleLookupError('role_problems: %s has no rules for the entry point %s (it has %s)'
                                     % (terms[0], entry_point, ', '.join(sorted(rules.SETTINGS))))
        names = rules.SETTINGS[entry_point]
        missing = [name for name in names if name not in variables]
        if missing:
            raise AnsibleLookupError('role_problems: %s not defined (the role %s defines them)' % (', '.join(missing), terms[0]))
        # ansible.builtin.vars templates each variable as a task's variables are templated, on every ansible-core.
        read = lookup_loader.get('ansible.builtin.vars', loader=self._loader, templar=self._templar)
        settings = dict(zip(names, read.run(list(names), variables)))
        context = {
            'inventory_hosts': list((variables.get('groups') or {}).get('all', [])),
            'inventory_hostname': variables.get('inventory_hostname'),
            'variable_names': list(variables),
        }
        for name in rules.OPTIONAL:
            context[name] = read.run([name], variables)[0] if name in variables else None
        # A variable with the role's prefix that the role lacks is a probable typo, named with the closest setting.
        return rules.problems(settings, context, entry_point) + role_variables.unknown(
            context['variable_names'], terms[0], getattr(rules, 'OUTPUTS', ()))
