# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: redeploy_batches
short_description: A rolling redeploy's batches (the play's serial), the canary's batch first
version_added: 0.5.0
description:
  - Takes C(redeploy_serial) and returns the list of batch sizes for a play's C(serial). With a canary (C(redeploy_canary),
    by default 1 when a performance gate limit is given), the canary's size comes first.
  - Counts and percentages are of servers - with O(unit_sizes), a server across nodes (C(vllm_server_nodes)) counts once
    and its nodes stay in one batch; the result then lists every batch's hosts.
  - The same file also has C(redeploy_problems) (every problem of the rollout's own settings, as messages naming the
    variable, its value and what is allowed), C(redeploy_canary_size) and C(redeploy_gate) (whether a performance gate
    limit is given), C(redeploy_unit_groups) (the rollout's units as C(add_host) items - its order and one group per
    unit) and C(redeploy_units) (those units read back from C(groups), where a play's C(serial) can see them); the role
    C(inferops.gpu_inference.redeploy) and C(playbooks/redeploy.yml) use them. The rules and defaults are in one place (C(plugins/plugin_utils/rollout.py)).
author:
  - inferops engineers (@inferops)
options:
  _input:
    description: C(redeploy_serial) (a count, a percentage, or a list of them); V(null) for its default (1).
    type: raw
    required: true
  canary:
    description: C(redeploy_canary); V(null) for its default.
    type: raw
  max_throughput_drop:
    description: C(redeploy_max_throughput_drop); V(null) when not given.
    type: raw
  max_ttft_rise:
    description: C(redeploy_max_ttft_rise); V(null) when not given.
    type: raw
  unit_sizes:
    description:
      - The hosts of each server in rollout order (C(groups | inferops.gpu_inference.redeploy_units | map('length'))); V(null),
        empty or all ones for one-node servers.
    type: list
    elements: int
"""

EXAMPLES = r"""
- name: Roll out
  hosts: gpu_nodes
  serial: "{{ redeploy_serial | default(none) | inferops.gpu_inference.redeploy_batches(redeploy_canary | default(none),
             redeploy_max_throughput_drop | default(none), redeploy_max_ttft_rise | default(none),
             groups | inferops.gpu_inference.redeploy_units | map('length') | list) }}"
  tasks: []
"""

RETURN = r"""
_value:
  description: Batch sizes (counts or percentages; counts of hosts, every batch listed, for servers across nodes).
  type: list
"""

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import rollout


def redeploy_batches(serial, canary=None, max_throughput_drop=None, max_ttft_rise=None, unit_sizes=None):
    return rollout.batches(serial, canary, max_throughput_drop, max_ttft_rise, unit_sizes)


def redeploy_canary_size(canary=None, max_throughput_drop=None, max_ttft_rise=None):
    size = rollout.canary(canary, max_throughput_drop, max_ttft_rise)
    return int(size) if size.isdigit() else 0


def redeploy_unit_groups(units):
    return rollout.unit_memberships([list(unit) for unit in units or []])


def redeploy_units(groups):
    return rollout.units_from_groups(groups)


def redeploy_gate(max_throughput_drop=None, max_ttft_rise=None):
    return rollout.gate(max_throughput_drop, max_ttft_rise)


def redeploy_problems(settings, inventory_hosts, node_count):
    return rollout.problems(dict(settings or {}), list(inventory_hosts or []), int(node_count))


class FilterModule(object):
    def filters(self):
        return {
            'redeploy_batches': redeploy_batches,
            'redeploy_canary_size': redeploy_canary_size,
            'redeploy_gate': redeploy_gate,
            'redeploy_unit_groups': redeploy_unit_groups,
            'redeploy_units': redeploy_units,
            'redeploy_problems': redeploy_problems,
        }
