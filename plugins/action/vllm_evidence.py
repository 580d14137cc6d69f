# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action for inferops.gpu_inference.vllm_evidence: write a server's evidence files on the controller.

Runs on the controller only: one task writes every file of the node's evidence folder, instead
of a copy task (a stat and a copy module run) per file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible.plugins.action import ActionBase

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.report_files import write_files


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('dest', 'files'))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=dict(
            dest=dict(type='path', required=True),
            files=dict(type='dict', required=True),
        ))
        bad = sorted(name for name in args['files'] if not name or name in ('.', '..') or '/' in name or '\0' in name)
        if bad:
            result.update(failed=True, msg='files: %s is not a file name (a name without "/", not "." or ".."): '
                          'the evidence is written inside dest only' % ', '.join(repr(n) for n in bad))
            return result
        # Text as given; a value the templating turned back into data (a JSON text on older ansible-core) as JSON.
        files = dict((name, text if isinstance(text, str) else '' if text is None
                      else json.dumps(text, indent=4, sort_keys=True) + '\n') for name, text in args['files'].items())
        folder = os.path.realpath(args['dest'])
        result.update(dir=folder, files=sorted(files), changed=False)
        if self._task.check_mode:
            result['msg'] = 'check mode: would write %d file(s) into %s' % (len(files), folder)
            return result
        try:
            result['changed_files'] = write_files(folder, files)
        except OSError as exc:
            result.update(failed=True, msg='cannot write the evidence into %s: %s' % (folder, exc))
            return result
        result['changed'] = bool(result['changed_files'])
        return result
