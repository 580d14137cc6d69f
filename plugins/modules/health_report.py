#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: health_report
short_description: Write the fleet health report on the controller
version_added: 0.6.0
description:
  - Gathers the C(inferops_health) facts that C(playbooks/health.yml) sets on each node (what
    M(inferops.gpu_inference.vllm_health) and M(inferops.gpu_inference.gpu_health) found) into one fleet report - per node,
    whether its server is serving, its GPU faults, and the causes of a sick node - and writes
    C(<root>/health-<stamp>/report.json) and C(report.md) (sick nodes first), then points C(<root>/health-latest) at
    that folder.
  - A node with no C(inferops_health) fact (unreachable, or failed before it was looked at) is sick.
  - Runs on the controller only (an action plugin); in check mode it builds the report and writes nothing.
author:
  - inferops engineers (@inferops)
extends_documentation_fragment:
  - inferops.gpu_inference.report
options:
  hosts:
    description: The nodes that were looked at (for example C(groups['gpu_nodes'])).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Write the fleet health report
  inferops.gpu_inference.health_report:
    hosts: "{{ groups['gpu_nodes'] }}"
  register: health_written
"""

RETURN = r"""
report:
  description: The fleet report (summary with the sick, warned and healthy nodes; per node its verdict and causes).
  returned: always
  type: dict
sick:
  description: The sick nodes.
  returned: always
  type: list
  elements: str
dir:
  description: The report folder.
  returned: always
  type: str
json_path:
  description: Path of report.json.
  returned: always
  type: str
markdown_path:
  description: Path of report.md.
  returned: always
  type: str
"""
