# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action for inferops.gpu_inference.redeploy_report: write the rolling redeploy's summary.

Runs on the controller only, after each batch of playbooks/redeploy.yml: reads every node's
redeploy_before and redeploy_node facts, writes summary.json and summary.md into the run's
folder (the same folder all along the rollout) and returns the table to print.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible.plugins.action import ActionBase

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.redeploy_report import (
    rollout_html, rollout_markdown, rollout_report, rollout_table)
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.report_files import (
    REPORT_ARGUMENT_SPEC, publish, report_folder)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('hosts', 'root', 'stamp', 'latest_link'))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=REPORT_ARGUMENT_SPEC)
        report = rollout_report(args['hosts'], task_vars.get('hostvars') or {})
        folder = report_folder(args, 'redeploy', task_vars)
        result.update(changed=False, report=report, table=rollout_table(report), dir=os.path.realpath(folder),
                      json_path=os.path.realpath(os.path.join(folder, 'summary.json')),
                      markdown_path=os.path.realpath(os.path.join(folder, 'summary.md')))
        return publish(result, self._task.check_mode, args, 'redeploy', folder, {
            'summary.json': json.dumps(report, indent=4, sort_keys=True, default=str) + '\n',
            'summary.md': rollout_markdown(report), 'report.html': rollout_html(report)}, 'redeploy summary', check_msg=True)
