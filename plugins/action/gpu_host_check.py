# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action for inferops.gpu_inference.gpu_host_check: validate, read the node, judge.

One task per host does what took five (assert, gpu_host_info, set_fact, debug, fail): the
settings are checked on the controller before anything runs on the node, the node is read by
one run of gpu_host_info, and the observations are judged on the controller.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.plugins.action import ActionBase

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.gpu_host_checks import (
    DEFAULTS, check_line, checks_summary, gpu_host_checks, settings_problems)

GATHER_MODULE = 'inferops.gpu_inference.gpu_host_info'
FAIL_ON = ('fail', 'warn', 'never')
# The role's variables are gpu_host_check_<key>, but for these two.
ROLE_NAMES = {'gpu_count': 'expected_gpu_count', 'dcgm_metrics': 'dcgm_exporter_metrics'}
FACTS = 'gpu_host_check_'


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('gather', 'expect', 'fail_on', 'defer_failure', 'name_prefix'))
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args_spec = dict(
            gather=dict(type='dict', default={}),
            expect=dict(type='dict', default={}),
            fail_on=dict(type='str', default='fail', choices=list(FAIL_ON)),
            defer_failure=dict(type='bool', default=False),
            name_prefix=dict(type='str', default=''),
        )
        dummy, args = self.validate_argument_spec(argument_spec=args_spec)
        prefix = args['name_prefix']
        expect = dict(args['expect'])
        unknown = sorted(set(expect) - set(DEFAULTS))
        settings = dict(expect)
        port = re.match(r'^[a-z]+://[^/]*:([0-9]+)(/|$)', args['gather'].get('dcgm_exporter_url') or '')
        if port:
            settings['dcgm_exporter_port'] = port.group(1)
        problems = ['unknown expectation(s) %s; allowed: %s' % (', '.join(unknown), ', '.join(sorted(DEFAULTS)))] if unknown else []
        problems += settings_problems(settings, lambda key: prefix + ROLE_NAMES.get(key, key) if prefix else key)
        if problems:
            result.update(failed=True, gathered=False,
                          msg='Invalid gpu_host_check settings for %s (nothing was run on the host): %s'
                              % (task_vars.get('inventory_hostname'), '; '.join(problems)))
            return result

        info = self._execute_module(module_name=GATHER_MODULE, module_args=args['gather'], task_vars=task_vars)
        if info.get('failed'):
            result.update(failed=True, gathered=False, msg='%s failed on %s: %s' % (
                GATHER_MODULE, task_vars.get('inventory_hostname'), info.get('msg')))
            return result
        for key in ('invocation', '_ansible_parsed', 'changed', 'warnings', 'deprecations'):
            info.pop(key, None)
        try:
            checks = gpu_host_checks(info, expect)
        except ValueError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        summary = checks_summary(checks)
        fail_on = args['fail_on']
        should_fail = bool((fail_on == 'fail' and summary['fail'])
                           or (fail_on == 'warn' and (summary['fail'] + summary['warn'])))
        lines = [check_line(c) for c in checks if c['status'] in ('fail', 'warn')]
        result.update(
            changed=False, gathered=True, checks=checks, summary=summary, should_fail=should_fail,
            ansible_facts={
                FACTS + 'info': info, FACTS + 'results': checks, FACTS + 'summary': summary,
                FACTS + 'gpus': (info.get('nvidia') or {}).get('gpus') or [], FACTS + 'should_fail': should_fail,
            },
        )
        if lines:
            result['warnings'] = lines
        if should_fail and not args['defer_failure']:
            result.update(failed=True, msg='%s: preflight failed (%d failed, %d warned; fail_on=%s): %s' % (
                task_vars.get('inventory_hostname'), len(summary['failed']), len(summary['warned']), fail_on,
                ' | '.join(lines)))
        return result
