# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action for inferops.gpu_inference.health_report: write the fleet health report.

Runs on the controller only: builds the report from every host's inferops_health fact and
writes report.json, report.md and the health-latest link in one task.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible.plugins.action import ActionBase

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.health_report import (
    health_fleet_report, health_markdown)
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.report_files import (
    REPORT_ARGUMENT_SPEC, publish, report_folder)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('hosts', 'root', 'stamp', 'latest_link'))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=REPORT_ARGUMENT_SPEC)
        hostvars = task_vars.get('hostvars') or {}
        report = health_fleet_report([h for h in args['hosts'] if h in hostvars], hostvars)
        folder = report_folder(args, 'health', task_vars)
        result.update(
            changed=True, report=report, sick=report['summary']['sick'], dir=os.path.realpath(folder),
            json_path=os.path.realpath(os.path.join(folder, 'report.json')),
            markdown_path=os.path.realpath(os.path.join(folder, 'report.md')),
        )
        return publish(result, self._task.check_mode, args, 'health', folder, {
            'report.json': json.dumps(report, indent=4, sort_keys=True, default=str) + '\n',
            'report.md': health_markdown(report)}, 'health report', check_msg=True)
