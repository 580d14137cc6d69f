#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vllm_health
short_description: Is a vLLM server serving - forward progress, not a listening socket
version_added: 0.6.0
description:
  - Answers, from the node, whether a vLLM server makes progress. A hung engine (a wedged GPU, a stuck collective) leaves
    C(/health) and C(/v1/models) answering 200 while every completion hangs, so neither is asked.
  - While requests run or wait (vLLM's C(vllm:num_requests_running) and C(vllm:num_requests_waiting) in C(/metrics)), the
    token counters (C(vllm:prompt_tokens_total) plus C(vllm:generation_tokens_total)) must advance within
    O(stall_after) seconds; while the server is idle, a one-token completion must answer within O(probe_timeout).
  - The same check, from the same code (C(module_utils/serving_check.py)), is what the gateway's HAProxy runs per node
    (P(inferops.gpu_inference.vllm_gateway#role), C(vllm_gateway_serving_check)).
  - Never fails on an unhealthy server; it says so in RV(state) and RV(serving). Python standard library only on the node.
author:
  - inferops engineers (@inferops)
extends_documentation_fragment:
  - inferops.gpu_inference.attributes.read_only
options:
  url:
    description: Base URL of the server as seen from the node.
    type: str
    default: http://127.0.0.1:8000
  api_key:
    description: The server's API key, sent with the idle probe as a bearer token.
    type: str
  model:
    description: The served model name for the probe; by default the first of C(/v1/models).
    type: str
  stall_after:
    description:
      - Seconds a busy server may produce no token before it is called stalled.
      - vLLM counts a prompt's tokens when its first token comes out, so a server whose only request is a long prefill
        shows none until the prefill ends; keep this above the longest time to first token the server sees (the bench
        report's max TTFT).
    type: float
    default: 7
  probe_timeout:
    description:
      - Seconds an idle server has to answer the one-token completion. When it does not, but the server produced tokens
        for other requests meanwhile, it is slow, not hung, and called V(progressing).
    type: float
    default: 5
  timeout:
    description: Seconds to wait for C(/metrics).
    type: float
    default: 5
  interval:
    description: Seconds between two looks at C(/metrics) while the server is busy.
    type: float
    default: 1
seealso:
  - module: inferops.gpu_inference.vllm_probe
"""

EXAMPLES = r"""
- name: Is the server serving?
  inferops.gpu_inference.vllm_health:
    url: http://127.0.0.1:8000
    api_key: "{{ vllm_server_api_key }}"
    stall_after: 7
  register: serving

- name: Say why not
  ansible.builtin.debug:
    msg: "{{ serving.state }}: {{ serving.reason }}"
  when: not serving.serving
"""

RETURN = r"""
state:
  description:
    - V(progressing) (busy, tokens advancing), V(idle) (the probe answered), V(stalled) (busy, no token within
      O(stall_after)), V(unresponsive) (idle, the probe failed or timed out), V(down) (C(/metrics) did not answer).
  returned: always
  type: str
  sample: stalled
serving:
  description: Whether RV(state) is V(progressing) or V(idle).
  returned: always
  type: bool
reason:
  description: What was seen, in words.
  returned: always
  type: str
  sample: 2 requests running, 0 waiting, and no token produced for 31s (bound 30s)
running:
  description: Requests running, from C(/metrics).
  returned: when /metrics answered
  type: float
waiting:
  description: Requests waiting, from C(/metrics).
  returned: when /metrics answered
  type: float
tokens:
  description: Prompt plus generation tokens counted since the server started.
  returned: when /metrics answered
  type: float
probe_seconds:
  description: How long the one-token completion took (or was waited for).
  returned: when a probe was sent
  type: float
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.inferops.gpu_inference.plugins.module_utils.serving_check import check


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type='str', default='http://127.0.0.1:8000'),
            api_key=dict(type='str', no_log=True),
            model=dict(type='str'),
            stall_after=dict(type='float', default=7),
            probe_timeout=dict(type='float', default=5),
            timeout=dict(type='float', default=5),
            interval=dict(type='float', default=1),
        ),
        supports_check_mode=True,
    )
    p = module.params
    for name in ('stall_after', 'probe_timeout', 'timeout', 'interval'):
        if p[name] <= 0:
            module.fail_json(msg='%s=%s: must be more than 0 seconds' % (name, p[name]))
    out = check(p['url'], p['api_key'], p['model'], p['stall_after'], p['probe_timeout'], p['timeout'], p['interval'])
    module.exit_json(changed=False, **out)


if __name__ == '__main__':
    main()
