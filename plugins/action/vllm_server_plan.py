# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action for inferops.gpu_inference.vllm_server_plan: role vllm_server's validate step in one task per host.

The settings are the role's variables (as the lookup vllm_server_spec reads them, with the same code:
plugin_utils/server_plan.py): the rules across them are checked on the controller before anything runs on
the node; then one run of vllm_probe on the node reads what runs on the port, its manager and (NVIDIA) the
GPU count; the spec is rebuilt when the model path is on the node; the rules that need what the node said
are checked; and the running server is compared with the desired one. Each was a task of its own before
(a worker per host each).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import server_plan, server_spec

PROBE = 'inferops.gpu_inference.vllm_probe'
# Read besides the settings of the spec (server_spec.SETTINGS).
MORE = ('vllm_server_nvidia_smi', 'vllm_server_evidence_dir', 'vllm_server_replace')
REPLACE = ('changed', 'always')


def _failure(host, problems):
    return 'Invalid vllm_server settings for %s: %s' % (host, '; '.join(problems))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        options = dict(record=dict(type='bool', default=False), model=dict(type='bool', default=False))
        dummy, args = self.validate_argument_spec(argument_spec=options)
        task_vars = task_vars or {}
        host = task_vars.get('inventory_hostname')
        try:
            settings = server_plan.read_settings(task_vars, self._loader, self._templar)
        except server_plan.MissingSettings as exc:
            result.update(failed=True, msg=str(exc))
            return result
        problems = server_plan.settings_problems(settings, task_vars)
        if problems:
            result.update(failed=True, msg=_failure(host, problems))
            return result
        more = server_plan.template_vars([name for name in MORE if name in task_vars], task_vars, self._loader, self._templar)
        replace = more.get('vllm_server_replace') or 'changed'
        if replace not in REPLACE:
            result.update(failed=True, msg=_failure(host, ['vllm_server_replace=%r: must be one of %s' % (replace, ', '.join(REPLACE))]))
            return result
        source = server_plan.source_files(settings)
        signature = server_spec.model_source_signature(source)
        spec = server_plan.build(settings, None, signature)

        # One module run on the node; it only reads, so it runs in check mode too. api_key is no_log in vllm_probe's
        # argument spec: masked in what it returns; its invocation is not kept.
        probe = self._execute_module(module_name=PROBE, task_vars=task_vars,
                                     module_args=server_plan.probe_args(settings, spec, more.get('vllm_server_nvidia_smi'),
                                                                        server_plan.wants_model_presence(spec, args['model'])))
        if probe.get('failed'):
            result.update(failed=True, msg=probe.get('msg') or '%s failed on %s' % (PROBE, host))
            if probe.get('reason'):
                result['reason'] = probe['reason']
            return result
        for key in [k for k in probe if k.startswith('_ansible_')] + ['invocation', 'warnings', 'deprecations']:
            value = probe.pop(key, None)
            if key == 'warnings' and value:
                result['warnings'] = value

        # A model path the node has is mounted into the container (else it is a path inside the image).
        if probe.get('model_on_node'):
            spec = server_plan.build(settings, {'model_on_node': probe['model_on_node']}, signature)

        problems = server_plan.host_problems(settings, spec, probe, host)
        if problems:
            result.update(failed=True, msg=_failure(host, problems))
            return result

        needs_deploy = replace == 'always' or server_plan.needs_deploy(spec, probe)
        facts = {'_vllm_server_spec': spec, '_vllm_server_probe': probe, '_vllm_server_needs_deploy': needs_deploy}
        if server_plan.wants_model_presence(spec, args['model']):
            facts['_vllm_server_model_presence'] = server_plan.model_presence(settings, spec, probe, source)
            problems = server_plan.group_model_problems(spec, facts['_vllm_server_model_presence'], host)
            if problems and not args['model']:
                result.update(failed=True, msg=_failure(host, problems))
                return result
        if args['record']:
            # Nothing left to do for this run: the server is left as it is, answers, was not restarted, and no
            # evidence is to be saved (none in check mode). The outcome is recorded here, as the role's last task would.
            done = (not needs_deploy and bool(probe.get('ready')) and int((probe.get('server') or {}).get('restarts') or 0) == 0
                    and not (more.get('vllm_server_evidence_dir') and not self._task.check_mode))
            facts['_vllm_server_done'] = done
            if done:
                facts['vllm_server_result'] = server_plan.outcome(spec, probe, replaced=False)
        result.update(changed=False, needs_deploy=needs_deploy, ansible_facts=facts)
        return result
