#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: preflight_report
short_description: Write the fleet preflight report on the controller
version_added: 0.1.0
description:
  - Gathers the C(gpu_host_check_*) facts that M(inferops.gpu_inference.gpu_host_check) set on
    each host into one fleet report (hosts that could not be checked are listed with a failed
    C(reachable) check), and writes C(<root>/preflight-<stamp>/report.json) and C(report.md) (failing
    checks first), then points C(<root>/preflight-latest) at that folder.
  - Hosts that were not checked (unreachable, failed before their checks) get a failed
    C(reachable) check.
  - Runs on the controller only (an action plugin); in check mode it builds the report and writes nothing.
author:
  - inferops engineers (@inferops)
extends_documentation_fragment:
  - inferops.gpu_inference.report
options:
  hosts:
    description: The hosts that were checked (for example C(groups['gpu_nodes'])).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Write the fleet report under reports/
  inferops.gpu_inference.preflight_report:
    hosts: "{{ groups['gpu_nodes'] }}"
    root: "{{ lookup('ansible.builtin.env', 'HOME') }}/inferops-reports"
  register: preflight_written
"""

RETURN = r"""
report:
  description: The fleet report (summary, hosts, problems), as written to report.json.
  returned: always
  type: dict
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
hosts_should_fail:
  description: Hosts whose checks fail them under their C(gpu_host_check_fail_on).
  returned: always
  type: list
  elements: str
"""
