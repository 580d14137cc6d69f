#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vllm_wait
short_description: Wait until a vLLM server answers, printing its start-up stages as they come
version_added: 0.1.0
description:
  - Waits until C(/health) answers 200 and C(/v1/models) lists the served model, calling
    M(inferops.gpu_inference.vllm_probe) on the node in a loop; prints each start-up stage read from the
    server's log (starting, loading weights, compiling, profiling memory, capturing graphs, starting API
    server, startup complete) with the time it was reached.
  - Fails at once when the container, supervisord program or systemd unit dies, and after O(timeout)
    seconds otherwise, with the cause, the last stage and the log tail.
  - With O(smoke_tests), the health gate also asks for tokens - a completion, a chat and a streamed request, as
    M(inferops.gpu_inference.vllm_smoke) sends them - in the same run on the node as the probe that found the
    server ready, and fails naming each test that returned no tokens.
  - An action plugin; in check mode it does not wait.
author:
  - inferops engineers (@inferops)
attributes:
  action:
    support: full
    description: Runs on the controller, calling vllm_probe on the node.
  check_mode:
    support: partial
    description: Skips the wait.
  diff_mode:
    support: none
    description: No diff.
options:
  url:
    description: Base URL of the server as seen from the node.
    type: str
    default: http://127.0.0.1:8000
  served_model_name:
    description: The model name C(/v1/models) must list.
    type: str
    required: true
  api_key:
    description: API key sent as a bearer token.
    type: str
  log_file:
    description: The server's log file on the node.
    type: str
  log_offset:
    description: Byte offset in O(log_file) where this start's lines begin.
    type: int
    default: 0
  watch_kind:
    description: What runs the server.
    type: str
    choices: [docker, podman, supervisor, systemd, none]
    default: none
  watch_name:
    description: Container name, supervisord program or systemd unit.
    type: str
  supervisor_socket:
    description: supervisord's socket (O(watch_kind=supervisor)); as M(inferops.gpu_inference.vllm_probe)'s, whose default it
      has when not given.
    type: path
  timeout:
    description: Seconds to wait in all.
    type: int
    default: 600
  poll:
    description: Longest wait of one probe on the node, in seconds.
    type: int
    default: 15
  quiet:
    description: Do not print the stages.
    type: bool
    default: false
  smoke_tests:
    description: Smoke tests to send once the server is ready; empty sends none.
    type: list
    elements: str
    choices: [completion, chat, stream]
    default: []
  smoke_prompt:
    description: The smoke tests' prompt (the probe's default when not given).
    type: str
  smoke_max_tokens:
    description: Tokens each smoke test asks for (the probe's default when not given).
    type: int
  smoke_temperature:
    description: The smoke tests' sampling temperature (the probe's default, 1.0, when not given).
    type: float
  smoke_sequential:
    description:
      - Send the smoke tests one after the other, so that each one's C(seconds) in RV(smoke) is that request alone
        (the probe sends them at once when not given).
    type: bool
seealso:
  - module: inferops.gpu_inference.vllm_probe
"""

EXAMPLES = r"""
- name: Wait for the server
  inferops.gpu_inference.vllm_wait:
    url: http://127.0.0.1:8000
    served_model_name: llama-3.1-8b
    log_file: /var/log/inferops/vllm.log
    watch_kind: docker
    watch_name: vllm
    timeout: 900

- name: Wait for the server, then ask it for a completion, a chat and a stream
  inferops.gpu_inference.vllm_wait:
    url: http://127.0.0.1:8000
    served_model_name: llama-3.1-8b
    smoke_tests: [completion, chat, stream]
"""

RETURN = r"""
ready:
  description: Whether the server became ready.
  returned: always
  type: bool
stages:
  description: Each stage seen, with C(after_s) seconds since the wait began.
  returned: always
  type: list
  elements: dict
elapsed:
  description: Seconds waited.
  returned: always
  type: float
server:
  description: What runs now, as M(inferops.gpu_inference.vllm_probe) returns it (status, restarts, fingerprint, image, model).
  returned: always
  type: dict
smoke:
  description: Per smoke test, C(ok), C(status), C(tokens), C(text), C(seconds) and C(error).
  returned: when the server became ready and O(smoke_tests) were given
  type: dict
sample_response:
  description: The chat smoke test's response JSON.
  returned: when the server became ready and the chat smoke test ran
  type: dict
cause:
  description: Why the server did not come up, or which smoke tests failed.
  returned: on failure
  type: str
log_tail:
  description: The last lines of the server's log when it did not come up.
  returned: always
  type: list
  elements: str
"""
