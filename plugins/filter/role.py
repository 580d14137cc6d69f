# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: unknown_role_variables
short_description: Variables with a role's prefix that the role does not have (a mistyped setting)
version_added: 0.4.0
description:
  - Takes variable names (as C(query('ansible.builtin.varnames', '^vllm_bench_')) gives them) and returns one message per
    name that starts with the role's prefix but is neither an option of the role's argument spec (any entry point) nor
    one of its outputs - with the closest name it has. A mistyped setting would otherwise be ignored without a word.
  - The roles C(vllm_server) and C(vllm_bench) fail on them before anything changes.
author:
  - inferops engineers (@inferops)
options:
  _input:
    description: Variable names.
    type: list
    elements: str
    required: true
  role:
    description: A role of this collection (its name is the prefix).
    type: str
    required: true
  outputs:
    description: The facts the role sets for others to read.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: No mistyped vllm_bench setting
  ansible.builtin.assert:
    that: _unknown | length == 0
    fail_msg: "{{ _unknown | join('; ') }}"
  vars:
    _unknown: "{{ query('ansible.builtin.varnames', '^vllm_bench_') | inferops.gpu_inference.unknown_role_variables('vllm_bench') }}"
"""

RETURN = r"""
_value:
  description: The messages; empty when every name is the role's.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import role_variables


def unknown_role_variables(names, role, outputs=()):
    try:
        return role_variables.unknown(names, role, outputs)
    except (IOError, OSError, KeyError) as exc:
        raise AnsibleFilterError('unknown_role_variables: %s is not a role of this collection with an argument spec (%s)' % (role, exc))


class FilterModule(object):
    def filters(self):
        return {'unknown_role_variables': unknown_role_variables}
