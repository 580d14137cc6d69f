# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action for inferops.gpu_inference.controller_check: what a playbook will need on the controller, checked in its
first play before any host or provider is touched (the report folder writable, baseline files readable as JSON)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.report_files import (
    default_root, results_file_problems, root_problems)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=dict(
            report=dict(type='bool', default=False),
            root=dict(type='path'),
            results_files=dict(type='dict', default={}),
        ))
        problems = []
        if args['report']:
            problems.extend(root_problems(args['root'] or default_root(task_vars)))
        for variable, path in sorted(args['results_files'].items()):
            problems.extend(results_file_problems(variable, path))
        result.update(changed=False, problems=problems)
        if problems:
            result.update(failed=True, msg='Invalid settings on the controller: %s' % '; '.join(problems))
        return result
