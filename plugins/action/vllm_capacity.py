# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action for inferops.gpu_inference.vllm_capacity: find a node's capacity at its SLOs.

Each step of the search (plugin_utils/capacity.py: bracket, then bisect) is one run of the
vllm_bench module on the node, a real ``vllm bench serve``; this plugin only chooses the next
request rate or concurrency from the last run's p99 TTFT, p99 TPOT and failed requests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import capacity

display = Display()
BENCH = 'inferops.gpu_inference.vllm_bench'
# Results kept per step (the raw run has the rest, on the node).
KEEP = ('completed', 'failed', 'duration_s', 'request_throughput_rps', 'output_throughput_tok_s', 'total_output_tokens',
        'ttft_p50_ms', 'ttft_p99_ms', 'tpot_p50_ms', 'tpot_p99_ms', 'itl_p99_ms', 'e2el_p99_ms', 'first_error')


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=dict(
            bench=dict(type='dict', required=True),
            api_key=dict(type='str', no_log=True),
            hf_token=dict(type='str', no_log=True),
            mode=dict(type='str', default='rate', choices=list(capacity.MODES)),
            ttft_p99_ms=dict(type='float'),
            tpot_p99_ms=dict(type='float'),
            low=dict(type='float', default=1.0),
            high=dict(type='float', default=64.0),
            precision=dict(type='float', default=0.1),
            max_runs=dict(type='int', default=12),
            num_prompts=dict(type='int', default=100),
            probe=dict(type='bool', default=True),
        ))
        bench = args['bench'] or {}
        problems = capacity.settings_problems(args['mode'], args['low'], args['high'], args['precision'], args['max_runs'],
                                              args['num_prompts'], args['ttft_p99_ms'], args['tpot_p99_ms'],
                                              input_len=bench.get('input_len'), output_len=bench.get('output_len'),
                                              names={'input_len': 'bench.input_len', 'output_len': 'bench.output_len'})
        if problems:
            result.update(failed=True, msg='vllm_capacity: ' + '; '.join(problems))
            return result
        if self._task.check_mode:
            result.update(skipped=True, msg='check mode: no benchmark runs')
            return result
        host = task_vars.get('inventory_hostname')
        slo = {'ttft_p99_ms': args['ttft_p99_ms'], 'tpot_p99_ms': args['tpot_p99_ms']}

        def measure(x):
            level = dict(request_rate=str(x), max_concurrency=0) if args['mode'] == 'rate' else dict(request_rate='inf', max_concurrency=x)
            module_args = dict(args['bench'], num_prompts=args['num_prompts'], result_name='capacity-%s-%s.json' % (args['mode'], x), **level)
            # The secrets go to vllm_bench's own no_log options, never into bench (which is not no_log).
            for secret in ('api_key', 'hf_token'):
                if args[secret]:
                    module_args[secret] = args[secret]
            run = self._execute_module(module_name=BENCH, module_args=module_args, task_vars=task_vars)
            if 'bench' not in run:
                raise RunError(run.get('msg') or 'vllm bench serve did not run')
            gpu = dict((k, v) for k, v in (run.get('gpu') or {}).items() if k != 'series')
            results = dict((k, run['bench'].get(k)) for k in KEEP if k in run['bench'])
            ok, why = capacity.judge(results, slo)
            display.display('%s: %s %s -> %s' % (host, 'rate' if args['mode'] == 'rate' else 'concurrency', x,
                                                 'within the SLO' if ok else '; '.join(why)))
            return {'results': results, 'gpu': gpu, 'seconds': run.get('seconds')}

        start = time.time()
        try:
            found = capacity.find_capacity(measure, slo, mode=args['mode'], low=args['low'], high=args['high'],
                                           precision=args['precision'], max_runs=args['max_runs'], probe=args['probe'])
        except RunError as exc:
            result.update(failed=True, msg='vllm_capacity on %s: a benchmark run broke: %s' % (host, exc))
            return result
        result.update(found, changed=False, mode=args['mode'], slo=slo, precision=args['precision'],
                      seconds=round(time.time() - start, 1), low=args['low'], high=args['high'])
        return result


class RunError(Exception):
    """A benchmark run that returned no results at all (not a latency miss)."""
