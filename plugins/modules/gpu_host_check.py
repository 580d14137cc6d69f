#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: gpu_host_check
short_description: Preflight a GPU inference node in one task - validate, read, judge
version_added: 0.1.0
description:
  - Reads its settings from the variables of the P(inferops.gpu_inference.gpu_host_check#role) role, by
    the names the role's argument spec lists (C(ansible-doc -t role inferops.gpu_inference.gpu_host_check)),
    which keeps their meanings and defaults in one place; it takes no arguments of its own.
  - Checks the settings on the controller and fails, naming each bad variable and its value, before
    anything runs on the node.
  - Reads the node with one run of M(inferops.gpu_inference.gpu_host_info) (one C(nvidia-smi)
    query for all GPU fields; what else it reads follows from the settings), then judges the
    observations on the controller.
  - Sets the facts C(gpu_host_check_results), C(gpu_host_check_summary), C(gpu_host_check_gpus) (one
    dictionary per GPU), C(gpu_host_check_info) (the rest of what gpu_host_info read) and
    C(gpu_host_check_should_fail), which the fleet report of
    C(playbooks/preflight.yml) reads; warns with one line per failing or warning check.
  - This is what the P(inferops.gpu_inference.gpu_host_check#role) role runs; use the role (its defaults
    are the settings' defaults). It is an action plugin, so its work is on the controller but for the
    one module run on the node.
  - Only reads; never changes the host.
author:
  - inferops engineers (@inferops)
extends_documentation_fragment:
  - inferops.gpu_inference.attributes.read_only
attributes:
  action:
    support: full
    description: Runs as an action plugin on the controller.
options: {}
seealso:
  - module: inferops.gpu_inference.gpu_host_info
  - module: inferops.gpu_inference.nvidia_smi_info
"""

EXAMPLES = r"""
- name: Preflight an 8-GPU H100 node with a recent driver, without failing the play (the role runs this action)
  ansible.builtin.include_role:
    name: inferops.gpu_inference.gpu_host_check
  vars:
    gpu_host_check_expected_gpu_count: 8
    gpu_host_check_gpu_model_pattern: H100
    gpu_host_check_min_driver_version: "550.54.15"
    gpu_host_check_fail_on: never

- name: Show what failed
  ansible.builtin.debug:
    var: gpu_host_check_summary.failed
"""

RETURN = r"""
checks:
  description: One dictionary per check, in a fixed order.
  returned: when the node was read
  type: list
  elements: dict
  sample:
    - {check: gpu_count, status: ok, message: "8 GPU(s) found, at least 8 expected", found: 8, expected: 8}
summary:
  description: Counts per status and the names of failed and warned checks.
  returned: when the node was read
  type: dict
  sample: {ok: 14, warn: 0, fail: 1, skip: 2, failed: [dcgm_exporter_metrics], warned: []}
should_fail:
  description: Whether the checks fail the host under the V(fail_on) setting.
  returned: when the node was read
  type: bool
gathered:
  description: Whether gpu_host_info ran on the node (false when the settings were rejected).
  returned: always
  type: bool
ansible_facts:
  description: The C(gpu_host_check_*) facts named above.
  returned: when the node was read
  type: dict
"""
