# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action for inferops.gpu_inference.gpu_host_check: validate, read the node, judge.

One task per host: the settings are checked on the controller before anything runs on the
node (against the role's argument spec, and what a spec cannot say), the node is read by one
run of gpu_host_info (what to read follows from the settings), and the observations are
judged on the controller.

The settings are the role's variables, read by the names its argument spec lists (as Ansible's
own validate_argument_spec reads a role's variables): the task passes no arguments, so a
worker templates only the variables that hold a template (two of the defaults) instead of
compiling a template per setting for every host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import yaml

from ansible.plugins.action import ActionBase

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import role_variables
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.gpu_host_checks import (
    check_line, checks_summary, gather_args, gpu_host_checks, settings_problems)

GATHER_MODULE = 'inferops.gpu_inference.gpu_host_info'
# The role's variables and facts are named with it.
PREFIX = 'gpu_host_check_'
# The role's argument spec: the one home of the settings' names, types and choices.
ROLE_SPEC = os.path.join(os.path.dirname(__file__), '..', '..', 'roles', 'gpu_host_check', 'meta', 'argument_specs.yml')


def _role_options():
    with open(ROLE_SPEC) as handle:
        return yaml.safe_load(handle)['argument_specs']['main']['options']


# Read once per playbook run: the strategy imports this plugin before it forks a worker per host.
ROLE_OPTIONS = _role_options()
# The facts this action sets: a later run in the same play reads them as variables, not as mistyped settings.
OUTPUTS = tuple(PREFIX + name for name in ('info', 'results', 'summary', 'gpus', 'should_fail'))


def role_settings(task_vars, templar):
    """The role's variables that are set, templated, under their names less the prefix."""
    given = dict((name, task_vars[name]) for name in ROLE_OPTIONS if name in task_vars)
    return dict((name[len(PREFIX):], value) for name, value in templar.template(given).items())


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset()
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        # No arguments: the settings are the role's variables.
        self.validate_argument_spec(argument_spec={})
        settings = role_settings(task_vars, self._templar)
        host = task_vars.get('inventory_hostname')
        problems = settings_problems(settings, ROLE_OPTIONS, PREFIX) + role_variables.unknown(task_vars, 'gpu_host_check', OUTPUTS)
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
        # Each fact once: the GPUs are gpu_host_check_gpus, the rest of what was read gpu_host_check_info.
        gpus = (info.get('nvidia') or {}).pop('gpus', None) or []
        result.update(
            changed=False, gathered=True, checks=checks, summary=summary, should_fail=should_fail,
            ansible_facts=dict(zip(OUTPUTS, (info, checks, summary, gpus, should_fail))),
        )
        if lines:
            result['warnings'] = lines
        if should_fail and not settings['defer_failure']:
            result.update(failed=True, msg='%s: preflight failed (%d failed, %d warned; fail_on=%s): %s' % (
                host, len(summary['failed']), len(summary['warned']), fail_on, ' | '.join(lines)))
        return result
