#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vllm_smoke
short_description: Smoke-test a vLLM server - completion, chat and a streamed request must each return tokens
version_added: 0.1.0
description:
  - Sends, from the node, a C(/v1/completions), a C(/v1/chat/completions) and a streamed request to a vLLM
    OpenAI-compatible server, all at once (the server batches them) or one after the other (O(sequential)), and fails
    naming each test that returned no tokens or an error.
  - Python standard library only on the node.
author:
  - inferops engineers (@inferops)
extends_documentation_fragment:
  - inferops.gpu_inference.attributes.read_only
options:
  url:
    description: Base URL of the server as seen from the node.
    type: str
    default: http://127.0.0.1:8000
  model:
    description: The served model name.
    type: str
    required: true
  api_key:
    description: API key sent as a bearer token.
    type: str
  tests:
    description: Which requests to send.
    type: list
    elements: str
    choices: [completion, chat, stream]
    default: [completion, chat, stream]
  prompt:
    description: The prompt (the chat test sends it as the user's message).
    type: str
    default: The capital of France is
  max_tokens:
    description: Tokens to ask for in each request.
    type: int
    default: 8
  temperature:
    description: Sampling temperature. Tiny random test models answer only whitespace at 0.
    type: float
    default: 1.0
  sequential:
    description:
      - Send the tests one after the other instead of at once, so that each one's C(seconds) is that request alone (a
        single timed request, as C(time curl) by hand).
    type: bool
    default: false
  seed:
    description: Sampling seed, for repeatable answers.
    type: int
    default: 7
  timeout:
    description: Timeout of each request in seconds.
    type: int
    default: 120
"""

EXAMPLES = r"""
- name: Smoke-test the server
  inferops.gpu_inference.vllm_smoke:
    url: http://127.0.0.1:8000
    model: llama-3.1-8b
  register: smoke
"""

RETURN = r"""
tests:
  description: Per test, C(ok), C(status), C(tokens) (completion tokens, or chunks for the stream), C(text), C(seconds) and C(error).
  returned: always
  type: dict
sample_response:
  description: The chat test's response JSON, as evidence.
  returned: when the chat test ran
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.inferops.gpu_inference.plugins.module_utils.openai_api import (
    ApiError, Client, SMOKE_MAX_TOKENS, SMOKE_PROMPT, SMOKE_TEMPERATURE, SMOKE_TESTS, smoke)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type='str', default='http://127.0.0.1:8000'),
            model=dict(type='str', required=True),
            api_key=dict(type='str', no_log=True),
            tests=dict(type='list', elements='str', choices=list(SMOKE_TESTS), default=list(SMOKE_TESTS)),
            prompt=dict(type='str', default=SMOKE_PROMPT),
            max_tokens=dict(type='int', default=SMOKE_MAX_TOKENS, no_log=False),
            temperature=dict(type='float', default=SMOKE_TEMPERATURE),
            sequential=dict(type='bool', default=False),
            seed=dict(type='int', default=7),
            timeout=dict(type='int', default=120),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        client = Client(p['url'], p['api_key'], p['timeout'])
    except ApiError as exc:
        module.fail_json(msg=str(exc))
    outcome = smoke(client, p['tests'], p['model'], p['prompt'], p['max_tokens'], p['temperature'], p['seed'], p['sequential'])
    out = dict(changed=False, tests=outcome['tests'])
    if outcome['sample_response'] is not None:
        out['sample_response'] = outcome['sample_response']
    if outcome['failed']:
        module.fail_json(msg=outcome['message'], **out)
    module.exit_json(**out)


if __name__ == '__main__':
    main()
