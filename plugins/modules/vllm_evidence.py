#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vllm_evidence
short_description: Write a vLLM server's evidence files on the controller, in one task
version_added: 0.1.0
description:
  - Writes each of O(files) into the folder O(dest) on the controller (made where missing), each file replaced
    whole, so that a run cut short leaves no half-written file. A file whose text is already there is left as it is.
  - The M(inferops.gpu_inference.vllm_server) role's evidence (C(vllm_server_evidence_dir)) is written this way (one task
    for a node's nine files instead of a copy task, two module runs, per file).
  - Runs on the controller only (an action plugin); in check mode it writes nothing.
  - The texts are written as given; secrets must be taken out before (the role redacts the inspected container and
    keeps secrets out of the command lines and logs it reads). They are not returned.
author:
  - inferops engineers (@inferops)
options:
  dest:
    description: The folder to write into, on the controller.
    type: path
    required: true
  files:
    description: File name (a name, without C(/)) to the text to write.
    type: dict
    required: true
attributes:
  action:
    support: full
    description: Runs as an action plugin on the controller; it touches no host.
  check_mode:
    support: full
    description: Writes nothing.
  diff_mode:
    support: none
    description: No diff is shown.
"""

EXAMPLES = r"""
- name: Keep what the node served
  inferops.gpu_inference.vllm_evidence:
    dest: "{{ playbook_dir }}/reports/evidence/{{ inventory_hostname }}"
    files:
      processes.txt: "{{ ps.stdout }}\n"
      deployment.json: "{{ {'host': inventory_hostname} | to_nice_json }}\n"
"""

RETURN = r"""
dir:
  description: The folder written into (its real path).
  returned: always
  type: str
files:
  description: The names of the files, sorted.
  returned: always
  type: list
  elements: str
changed_files:
  description: The names of the files whose text changed (written anew).
  returned: when not in check mode
  type: list
  elements: str
"""
