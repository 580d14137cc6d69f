# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: vllm_server_spec
short_description: The server a host's vllm_server settings would run, built once, with the rules they break
version_added: 0.4.0
description:
  - Reads the host's C(vllm_server_*) settings (those of the role's argument spec that the server depends on) and
    returns what they would run - the C(vllm serve) argv, the environment, the mounts and devices, the release files,
    the process manager's files, and the server's name, folders, log file and local URL - with a fingerprint that is the
    hash of all of it (secrets as hashes), so that any setting that changes the server changes the fingerprint.
  - Also returns C(problems), the rules across settings that the argument spec cannot check (each names the variable,
    its value and what is allowed), and any variable named C(vllm_server_*) that the role does not have (a mistyped
    setting, with the closest one); the role fails on them before any host is touched.
  - The role C(inferops.gpu_inference.vllm_server) builds the same spec with the same code in its validate step (the
    action M(inferops.gpu_inference.vllm_server_plan)) and calls this lookup in its remove step. Secrets never appear
    in what it returns.
author:
  - inferops engineers (@inferops)
options:
  node:
    description:
      - What the node said, from M(inferops.gpu_inference.vllm_probe) - C(model_on_node), whether the model path
        C(node_model_path) of a first call is on the node (a container then mounts it read-only at the same path;
        without it the path is taken as one inside the image).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: What the settings would run
  ansible.builtin.debug:
    msg: "{{ lookup('inferops.gpu_inference.vllm_server_spec').argv }}"
"""

RETURN = r"""
_raw:
  description: The spec (fingerprint, argv, env, engine, process, ...) and problems, a list of messages.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import server_plan


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        # The body is server_plan.spec_for, shared with the action vllm_server_plan (the role's validate step).
        try:
            return [server_plan.spec_for(variables or {}, self._loader, self._templar, kwargs.get('node') or {})]
        except server_plan.MissingSettings as exc:
            raise AnsibleLookupError(str(exc))
