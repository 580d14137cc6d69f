#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vllm_server_plan
short_description: The validate step of role vllm_server in one task - check the settings, read the node once, decide
version_added: 0.5.0
description:
  - Reads its settings from the variables of the P(inferops.gpu_inference.vllm_server#role) role (C(ansible-doc -t role
    inferops.gpu_inference.vllm_server)), as the lookup P(inferops.gpu_inference.vllm_server_spec#lookup) does, with the
    same code.
  - Builds the server spec those settings would run and checks the rules across them on the controller; a broken rule
    fails the host with C(Invalid vllm_server settings for <host>) and every rule it breaks, before anything runs on the node.
  - Runs M(inferops.gpu_inference.vllm_probe) once on the node (what runs on the port and what manages it, the log, and
    on NVIDIA the GPU count; whether a model path is on the node), in check mode too, as it only reads. The API key is
    passed only to it, and it masks it (no_log).
  - Builds the spec again when the model path is on the node (a container mounts it), checks the rules that need what
    the node said (the GPUs tensor x pipeline parallelism needs, the GPU ids of C(vllm_server_gpus), the port free or
    the server's own), and decides whether the running server must be replaced.
  - Sets the facts C(_vllm_server_spec) (the spec), C(_vllm_server_probe) (vllm_probe's result, as a registered task
    would hold it, less its invocation) and C(_vllm_server_needs_deploy), which the role's later tasks and its
    C(vllm_server_plan) read.
  - This is what the role's validate step runs (its entry point C(validate), and the start of C(main)); use the role.
    It is an action plugin, so its work is on the controller but for the one module run on the node.
  - Only reads; never changes the host.
author:
  - inferops engineers (@inferops)
extends_documentation_fragment:
  - inferops.gpu_inference.attributes.read_only
attributes:
  action:
    support: full
    description: Runs as an action plugin on the controller.
options:
  record:
    description:
      - Also set C(_vllm_server_done), true when the run has nothing left to do (the server is left as it is, answers,
        was not restarted, and no evidence is to be saved, none in check mode), and then also C(vllm_server_result) with
        the outcome C(unchanged), as the role's last task would record it. The role's C(main) sets it.
    type: bool
    default: false
  model:
    description:
      - Also find out whether the node already has the model the settings serve, and set C(_vllm_server_model_presence)
        (read as C(vllm_server_plan.model)) - a model path looked for, a hub id looked for in the Hugging Face cache. The
        role's C(validate) and C(stage) entry points set it (C(redeploy.yml) prints it before the rollout); a deploy does
        not need it, and skips those lookups.
      - A staged copy (C(vllm_server_model_source)) is always read, with or without this option - every file of the
        controller's folder with its size, and the record its last staging left beside it (C(<copy>.inferops-staged.json),
        the controller folder's names, sizes and times) - because the prepare step copies only a copy that is not current.
    type: bool
    default: false
seealso:
  - module: inferops.gpu_inference.vllm_probe
"""

EXAMPLES = r"""
- name: What the settings would run, what runs now, and whether it will be replaced (the role's validate entry point)
  ansible.builtin.include_role:
    name: inferops.gpu_inference.vllm_server
    tasks_from: validate
    public: true

- name: Show the plan
  ansible.builtin.debug:
    var: vllm_server_plan
"""

RETURN = r"""
needs_deploy:
  description: Whether the running server differs from the one the settings describe (or none runs).
  returned: success
  type: bool
reason:
  description: Why vllm_probe failed on the node, when it did (such as C(nvidia_smi_missing)).
  returned: when vllm_probe failed
  type: str
ansible_facts:
  description:
    - C(_vllm_server_spec), C(_vllm_server_probe) and C(_vllm_server_needs_deploy); with O(record) also
      C(_vllm_server_done), and C(vllm_server_result) when it is true; with O(model), or when a model folder is staged, also C(_vllm_server_model_presence).
  returned: success
  type: dict
"""
