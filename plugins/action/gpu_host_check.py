# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action for inferops.gpu_inference.gpu_host_check: validate, read the node, judge.

One task per host: the settings are checked on the controller before anything runs on the
node (against the role's argument spec, and what a spec cannot say), the node is read by one run of gpu_host_info (what to read follows from the settings),
and the observations are judged on the controller. The settings' keys are the role's
variable names less the prefix, one direction only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.plugins.action import ActionBase

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.gpu_host_checks import (
    check_line, checks_summary, gather_args, gpu_host_checks, settings_problems)

GATHER_MODULE = 'inferops.gpu_inference.gpu_host_info'
FACTS = 'gpu_host_check_'
# The role's argument spec: the one home of the settings' names, types and choices.
ROLE_SPEC = os.path.join(os.path.dirname(__file__), '..', '..', 'roles', 'gpu_host_check', 'meta', 'argument_specs.yml')


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('settings', 'name_prefix'))
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=dict(
            settings=dict(type='dict', required=True),
            name_prefix=dict(type='str', default=''),
        ))
        settings = args['settings']
        host = task_vars.get('inventory_hostname')
        options = self._loader.load_from_file(ROLE_SPEC)['argument_specs']['main']['options']
        problems = settings_problems(settings, options, args['name_prefix'])
        if problems:
            result.update(failed=True, gathered=False,
                          msg='Invalid gpu_host_check settings for %s (nothing was run on the host): %s' % (host, '; '.join(problems)))
            return result

        info = self._execute_module(module_name=GATHER_MODULE, module_args=gather_args(settings), task_vars=task_vars)
        if info.get('failed'):
            result.update(failed=True, gathered=False, msg='%s failed on %s: %s' % (GATHER_MODULE, host, info.get('msg')))
            return result
        for key in ('invocation', '_ansible_parsed', 'changed', 'warnings', 'deprecations'):
            info.pop(key, None)
        try:
            checks = gpu_host_checks(info, settings)
        except ValueError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        summary = checks_summary(checks)
        fail_on = settings['fail_on']
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
        if should_fail and not settings['defer_failure']:
            result.update(failed=True, msg='%s: preflight failed (%d failed, %d warned; fail_on=%s): %s' % (
                host, len(summary['failed']), len(summary['warned']), fail_on, ' | '.join(lines)))
        return result
