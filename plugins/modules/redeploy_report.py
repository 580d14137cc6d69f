#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: redeploy_report
short_description: Write a rolling redeploy's summary - which node runs which version
version_added: 0.1.0
description:
  - Reads two facts of each node that C(playbooks/redeploy.yml) sets, C(redeploy_before) (what ran before the
    rollout) and C(redeploy_node) (the node's outcome and what it runs now), and writes
    C(<root>/redeploy-<stamp>/summary.json), C(summary.md) and C(report.html) (with a canary's performance gate,
    old against new per scenario and metric, as charts and a table), then points C(<root>/redeploy-latest) at them.
  - Outcomes are V(replaced), V(unchanged) (the node is on the new version), V(rolled_back) (the new server
    failed its gate; the previous one serves again), V(down) (it failed and the previous one did not come back),
    V(failed), V(unreachable), and V(not reached) (the rollout stopped before the node).
  - Called after every batch with the same O(stamp), so the files always tell the rollout's latest state, also
    when Ansible stops the play at C(max_fail_percentage).
  - Runs on the controller only (an action plugin); in check mode it builds the summary and writes nothing.
author:
  - inferops engineers (@inferops)
extends_documentation_fragment:
  - inferops.gpu_inference.report
options:
  hosts:
    description: The nodes of the rollout, in rollout order.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Write and show the rollout summary
  inferops.gpu_inference.redeploy_report:
    hosts: "{{ ansible_play_hosts_all }}"
    root: "{{ lookup('ansible.builtin.env', 'HOME') }}/inferops-reports"
    stamp: "{{ redeploy_stamp }}"
  run_once: true
  delegate_to: localhost
  register: redeploy_summary
"""

RETURN = r"""
report:
  description: C(nodes) (host, outcome, runs, before, target, on_target, restarts, elapsed_s, cause) and C(summary).
  returned: always
  type: dict
table:
  description: The summary as text lines, one per node, for the play's output.
  returned: always
  type: list
  elements: str
dir:
  description: The report folder.
  returned: always
  type: str
json_path:
  description: Path of summary.json.
  returned: always
  type: str
markdown_path:
  description: Path of summary.md.
  returned: always
  type: str
"""
