# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action for inferops.gpu_inference.vllm_wait: wait for a vLLM server, showing its stages.

Calls vllm_probe on the node in a loop (each call waits on the node until the server is
ready, its start-up stage changes or it dies) and prints each new stage as it comes, so an
operator sees "loading weights", "capturing graphs"... rather than a silent wait.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.inferops.gpu_inference.plugins.module_utils.openai_api import SMOKE_TESTS

display = Display()
PROBE = 'inferops.gpu_inference.vllm_probe'
PROBE_ARGS = ('url', 'served_model_name', 'api_key', 'log_file', 'log_offset', 'watch_kind', 'watch_name', 'supervisor_socket',
              'smoke_tests', 'smoke_prompt', 'smoke_max_tokens', 'smoke_temperature', 'smoke_sequential')


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=dict(
            url=dict(type='str', default='http://127.0.0.1:8000'),
            served_model_name=dict(type='str', required=True),
            api_key=dict(type='str', no_log=True),
            log_file=dict(type='str'),
            log_offset=dict(type='int', default=0),
            watch_kind=dict(type='str', default='none', choices=['docker', 'podman', 'supervisor', 'systemd', 'none']),
            watch_name=dict(type='str'),
            supervisor_socket=dict(type='path'),
            timeout=dict(type='int', default=600),
            poll=dict(type='int', default=15),
            quiet=dict(type='bool', default=False),
            smoke_tests=dict(type='list', elements='str', choices=list(SMOKE_TESTS), default=[]),
            smoke_prompt=dict(type='str'),
            smoke_max_tokens=dict(type='int'),
            smoke_temperature=dict(type='float'),
            smoke_sequential=dict(type='bool'),
        ))
        host = task_vars.get('inventory_hostname')
        if self._task.check_mode:
            result.update(skipped=True, msg='check mode: not waiting')
            return result
        probe_args = dict((k, args[k]) for k in PROBE_ARGS if args[k] is not None)
        start = time.time()
        stage, stages, probe = None, [], {}
        while True:
            left = args['timeout'] - (time.time() - start)
            probe = self._execute_module(module_name=PROBE, task_vars=task_vars, module_args=dict(
                probe_args, wait=max(0, int(min(args['poll'], left))), stage=stage))
            if probe.get('failed'):
                result.update(failed=True, msg='%s failed on %s: %s' % (PROBE, host, probe.get('msg')))
                return result
            elapsed = round(time.time() - start, 1)
            # The probe returns every stage this start reached: show those not shown yet.
            for reached in probe.get('stages') or ([probe['stage']] if probe.get('stage') else []):
                if reached not in [s['stage'] for s in stages]:
                    stages.append({'stage': reached, 'after_s': elapsed})
                    if not args['quiet']:
                        display.display('%s: vLLM %s after %.0f s' % (host, reached, elapsed))
            stage = probe.get('stage') or stage
            # A traceback in this start's log ends the wait even while a supervisor restarts it.
            if probe.get('ready') or probe.get('alive') is False or stage == 'failed' or elapsed >= args['timeout']:
                break
        result.update(changed=False, ready=bool(probe.get('ready')), stages=stages, elapsed=round(time.time() - start, 1),
                      health=probe.get('health'), models=probe.get('models'), alive=probe.get('alive'),
                      state=probe.get('state'), server=probe.get('server'), error=probe.get('error'),
                      log_tail=probe.get('log_tail') or [])
        smoke = probe.get('smoke')
        if smoke is not None:
            result['smoke'] = smoke['tests']
            if smoke['sample_response'] is not None:
                result['sample_response'] = smoke['sample_response']
            if smoke['failed']:
                result.update(failed=True, cause=smoke['message'], msg='vLLM on %s answers, but %s' % (host, smoke['message']))
        if not result['ready']:
            if probe.get('alive') is False or stage == 'failed':
                cause = 'the server stopped (%s)' % probe.get('state') if probe.get('alive') is False else 'the server failed'
                if probe.get('error'):
                    cause += ': ' + probe['error']
            else:
                cause = 'not ready after %d s (/health: %s, /v1/models: %s)' % (
                    args['timeout'], probe.get('health'), ', '.join(probe.get('models') or []) or 'none')
            result.update(failed=True, cause=cause, msg='vLLM on %s did not come up: %s; last stage: %s. Log tail:\n%s' % (
                host, cause, stage or 'none', '\n'.join(result['log_tail'][-15:])))
        return result
