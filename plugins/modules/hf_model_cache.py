#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: hf_model_cache
short_description: Put a Hugging Face model, at a pinned revision, into a node's hub cache and check every file
version_added: 0.1.0
description:
  - Downloads, on the node, the files of a model of the Hugging Face hub (or of a site mirror that answers its API,
    O(endpoint), as C(HF_ENDPOINT)) into the hub cache under O(hf_home), laid out as C(huggingface_hub) lays it out, so
    that vLLM started with C(HF_HOME=hf_home) reads it there instead of downloading it (with C(HF_HUB_OFFLINE=1) too).
  - Only what the cache lacks is downloaded. Each file is checked against the hub's file list before it is put in
    place, its size and its hash (sha256 for the large files, git's blob sha1 for the others); a file that does not
    match is not kept and the module fails naming it.
  - The hub's answers are checked before anything is written (a commit id, relative paths inside the model, sizes and
    hashes of the right form); the token is sent only to the endpoint's host, never after a redirect to another.
  - The role M(inferops.gpu_inference.vllm_server) runs it in its C(stage) entry point (C(playbooks/stage.yml)) for a
    model named by its hub id.
  - Python standard library only on the node.
author:
  - inferops engineers (@inferops)
attributes:
  check_mode:
    support: full
    description: In check mode the module asks the hub and says what it would download, writing nothing.
  diff_mode:
    support: none
    description: The cache's files are not shown as a diff; RV(downloaded) lists them.
options:
  model:
    description: The model's hub id (C(org/name)).
    type: str
    required: true
  revision:
    description:
      - A branch, a tag or a commit id. Empty is C(main). A branch or tag is resolved to its commit now and recorded in
        the cache's C(refs/), as C(huggingface_hub) does, so that the server started with the same revision finds it.
    type: str
    default: ''
  hf_home:
    description: The Hugging Face home on the node (C(HF_HOME)); the cache is its C(hub) folder.
    type: path
    required: true
  endpoint:
    description: The hub's address (C(HF_ENDPOINT)), such as a site mirror. Empty is C(https://huggingface.co).
    type: str
    default: ''
  token:
    description: A Hugging Face token, for a gated or private model. Never shown.
    type: str
  timeout:
    description: Seconds to wait for each answer (and for each read of a download).
    type: int
    default: 60
"""

EXAMPLES = r"""
- name: Stage a pinned revision from the site's mirror
  inferops.gpu_inference.hf_model_cache:
    model: meta-llama/Llama-3.1-8B-Instruct
    revision: 0e9e39f249a16976918f6564b8830bc894c89659
    hf_home: /var/lib/inferops/hf-cache
    endpoint: https://hf-mirror.example.internal
    token: "{{ vllm_server_hf_token }}"
"""

RETURN = r"""
commit:
  description: The commit staged.
  type: str
  returned: success
snapshot:
  description: The snapshot folder on the node (what vLLM reads).
  type: str
  returned: success
files:
  description: The number of files of the model at that commit.
  type: int
  returned: success
bytes:
  description: Their size in bytes.
  type: int
  returned: success
downloaded:
  description: The files downloaded (in check mode, those that would be).
  type: list
  elements: str
  returned: success
downloaded_bytes:
  description: Their size in bytes.
  type: int
  returned: success
reason:
  description: On failure, a word for what failed (bad_setting, refused, missing, bad_answer, unreachable, mismatch, disk).
  type: str
  returned: failure
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.inferops.gpu_inference.plugins.module_utils import hf_hub


def main():
    module = AnsibleModule(
        argument_spec=dict(
            model=dict(type='str', required=True),
            revision=dict(type='str', default=''),
            hf_home=dict(type='path', required=True),
            endpoint=dict(type='str', default=''),
            token=dict(type='str', no_log=True),
            timeout=dict(type='int', default=60),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not hf_hub.MODEL_RE.match(p['model']):
        module.fail_json(msg='model=%s must be a hub id: org/name (letters, digits, . _ -)' % p['model'], reason='bad_setting')
    if p['revision'] and not hf_hub.REVISION_RE.match(p['revision']):
        module.fail_json(msg='revision=%s must be a branch, a tag or a commit id (letters, digits, . _ - /, no ..)' % p['revision'],
                         reason='bad_setting')
    try:
        hub = hf_hub.Hub(p['endpoint'], p['token'] or '', p['timeout'])
        result = hf_hub.stage(hub, p['hf_home'], p['model'], p['revision'], module.check_mode)
    except hf_hub.HubError as exc:
        module.fail_json(msg='%s (endpoint %s)' % (exc, hf_hub.shown(p['endpoint']) or hf_hub.DEFAULT_ENDPOINT), reason=exc.reason)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
