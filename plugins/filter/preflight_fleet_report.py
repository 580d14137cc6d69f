# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: preflight_fleet_report
short_description: Gather every host's preflight checks into one fleet report
version_added: 0.1.0
description:
  - Builds the fleet report of C(playbooks/preflight.yml) from the C(gpu_host_check_results) that the
    P(inferops.gpu_inference.gpu_host_check#role) role set on each host.
  - Hosts that could not be checked (unreachable, failed before the checks) are listed with a single
    C(reachable) check that failed.
author:
  - inferops engineers (@inferops)
options:
  _input:
    description: The host names.
    type: list
    elements: str
    required: true
  hostvars:
    description: The C(hostvars) magic variable.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Build the report
  ansible.builtin.set_fact:
    fleet: "{{ groups['gpu_nodes'] | inferops.gpu_inference.preflight_fleet_report(hostvars) }}"
"""

RETURN = r"""
_value:
  description: >-
    C(summary) (hosts, hosts_failing, hosts_warning, checks), C(hosts) (per host: summary, checks, gpus) and
    C(problems) (every failed or warned check of every host, failures first).
  type: dict
"""

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.preflight_report import (  # noqa: F401
    preflight_fleet_report, preflight_markdown)


class FilterModule(object):
    def filters(self):
        return {'preflight_fleet_report': preflight_fleet_report, 'preflight_markdown': preflight_markdown}
