# -*- coding: utf-8 -*-
# Copyright: inferops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules across the settings of the role vllm_bench (its argument spec checks types and choices).

``problems(settings, context, entry_point)`` returns one message per broken rule, naming the variable, its value and
what is allowed; the role's validate step gets them from the lookup ``inferops.gpu_inference.role_problems`` once,
before anything runs or is written on a node, and fails listing all of them.

Every entry point: the scenarios and the concurrency sweep (bench_report's rules, shared with redeploy's performance
gate), something to run, the served model, the URL, the result folder, the SLO gates and the baseline (a file on the
controller), the runner's container and vllm command, the percentiles, goodput, timeouts and the warm-up; and no
variable named vllm_bench_* that the role does not have. Entry point capacity: the search's settings too
(plugin_utils/capacity.py, the rules the vllm_capacity action applies).
"""
from __future__ import annotations

import os

from ansible.module_utils.common.validation import check_type_dict

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import bench_report, capacity
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.rule_values import (
    as_bool, as_float, as_int, fullmatch, items_of, not_lists, to_json)
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.server_spec import ENV_NAME_RE, PATH_RE, SECRET_ENV_RE

SHARED = ('vllm_bench_scenarios', 'vllm_bench_concurrency_sweep', 'vllm_bench_model', 'vllm_bench_base_url',
          'vllm_bench_result_dir', 'vllm_bench_gate_throughput_factor', 'vllm_bench_baseline', 'vllm_bench_gate_ttft_p99_ms',
          'vllm_bench_gate_failed_requests', 'vllm_bench_price_per_hour', 'vllm_bench_sample_interval_ms',
          'vllm_bench_runner', 'vllm_bench_container', 'vllm_bench_vllm', 'vllm_bench_percentiles', 'vllm_bench_goodput',
          'vllm_bench_timeout', 'vllm_bench_sweep_prompts_per_level', 'vllm_bench_warmup', 'vllm_bench_warmup_prompts',
          'vllm_bench_env')
# The capacity search's settings, by the name capacity.settings_problems gives each.
CAPACITY = dict((key, 'vllm_bench_capacity_' + key) for key in (
    'mode', 'low', 'high', 'precision', 'max_runs', 'num_prompts', 'ttft_p99_ms', 'tpot_p99_ms', 'input_len', 'output_len'))
SETTINGS = {'main': SHARED, 'capacity': SHARED + tuple(CAPACITY.values())}
OPTIONAL = ()
# The facts the role sets for others to read (its README's Outputs): not mistyped settings.
OUTPUTS = ('vllm_bench_records', 'vllm_bench_misses', 'vllm_bench_capacity')

URL = r'https?://[^\s/]+(/\S*)?'
CONTAINER = r'[A-Za-z0-9][A-Za-z0-9_.-]*'
COMMAND = r'/?[A-Za-z0-9_.+-]+(/[A-Za-z0-9_.+-]+)*'
_PERCENTILE = r'(100|[0-9]{1,2}(\.[0-9]+)?)'
PERCENTILES = _PERCENTILE + '(,' + _PERCENTILE + ')*'
GOODPUT = r'(ttft|tpot|e2el):[0-9]+(\.[0-9]+)?'


def problems(settings, context=None, entry_point='main'):
    """The rules across settings (the mistyped variables are the lookup role_problems's, for every role)."""
    s = settings
    out = bench_report.scenario_problems(s['vllm_bench_scenarios']) + bench_report.sweep_problems(s['vllm_bench_concurrency_sweep'])
    out += not_lists(s, ('vllm_bench_goodput',))
    out += _setting_problems(s)
    if entry_point == 'capacity':
        out += capacity.settings_problems(names=CAPACITY, **dict((key, s[var]) for key, var in CAPACITY.items()))
    return out


def _setting_problems(s):
    out = []
    if not s['vllm_bench_model']:
        out.append('vllm_bench_model is empty: give the served model name')
    if not s['vllm_bench_scenarios'] and not s['vllm_bench_concurrency_sweep']:
        out.append('vllm_bench_scenarios and vllm_bench_concurrency_sweep are both empty: nothing to run')
    if not fullmatch(URL, s['vllm_bench_base_url']):
        out.append('vllm_bench_base_url=%s must be an http:// or https:// URL' % to_json(s['vllm_bench_base_url']))
    if not PATH_RE.match(str(s['vllm_bench_result_dir'])):
        out.append('vllm_bench_result_dir=%s must be an absolute path without whitespace or .. parts' % to_json(s['vllm_bench_result_dir']))
    factor, baseline = s['vllm_bench_gate_throughput_factor'], s['vllm_bench_baseline']
    if factor is not None and not baseline:
        out.append('vllm_bench_gate_throughput_factor=%s needs vllm_bench_baseline (a results.json to compare with)' % factor)
    if factor is not None and not as_float(factor) > 0:
        out.append('vllm_bench_gate_throughput_factor=%s must be a number above 0' % factor)
    if baseline and not os.path.isfile(str(baseline)):
        out.append('vllm_bench_baseline=%s is not a file on the controller' % to_json(baseline))
    ttft, failed = s['vllm_bench_gate_ttft_p99_ms'], s['vllm_bench_gate_failed_requests']
    if ttft is not None and not as_float(ttft) > 0:
        out.append('vllm_bench_gate_ttft_p99_ms=%s must be a number of milliseconds above 0 (or null: no gate)' % ttft)
    if failed is not None and as_int(failed) < 0:
        out.append('vllm_bench_gate_failed_requests=%s must be 0 or more (or null: no gate)' % failed)
    if as_float(s['vllm_bench_price_per_hour']) < 0:
        out.append('vllm_bench_price_per_hour=%s must be 0 (no cost column) or more' % s['vllm_bench_price_per_hour'])
    if as_int(s['vllm_bench_sample_interval_ms']) < 50:
        out.append('vllm_bench_sample_interval_ms=%s must be 50 or more' % s['vllm_bench_sample_interval_ms'])
    if s['vllm_bench_runner'] == 'exec' and not fullmatch(CONTAINER, s['vllm_bench_container']):
        out.append('vllm_bench_container=%s must be a container name (letters, digits, . _ -)' % to_json(s['vllm_bench_container']))
    if not fullmatch(COMMAND, s['vllm_bench_vllm']):
        out.append('vllm_bench_vllm=%s must be a command name or an absolute path, without whitespace or shell syntax'
                   % to_json(s['vllm_bench_vllm']))
    if not fullmatch(PERCENTILES, s['vllm_bench_percentiles']):
        out.append('vllm_bench_percentiles=%s must be comma-separated numbers from 0 to 100, such as 50,90,99'
                   % to_json(s['vllm_bench_percentiles']))
    goodput = [g for g in items_of(s['vllm_bench_goodput']) if not fullmatch(GOODPUT, g)]
    if goodput:
        out.append('vllm_bench_goodput item(s) %s must be METRIC:MILLISECONDS with METRIC ttft, tpot or e2el (such as ttft:500)'
                   % ', '.join(to_json(g) for g in goodput))
    for name, least, what in (('vllm_bench_timeout', 1, ' seconds'), ('vllm_bench_sweep_prompts_per_level', 1, '')):
        if as_int(s[name]) < least:
            out.append('%s=%s must be %d or more%s' % (name, s[name], least, what))
    if as_bool(s['vllm_bench_warmup']) and as_int(s['vllm_bench_warmup_prompts']) < 1:
        out.append('vllm_bench_warmup_prompts=%s must be 1 or more' % s['vllm_bench_warmup_prompts'])
    env = s['vllm_bench_env']
    if isinstance(env, str):
        # As the module's argument spec reads it (-e 'vllm_bench_env=A=1,B=2', or vllm_server_env given so).
        try:
            env = check_type_dict(env)
        except (TypeError, ValueError):
            pass
    if not isinstance(env, dict):
        out.append('vllm_bench_env must be a dictionary of environment variables (NAME: value)')
    else:
        names = [str(k) for k in env]
        secret = [n for n in names if SECRET_ENV_RE.search(n)]
        if secret:
            out.append('vllm_bench_env names %s look like secrets, which would show in -vvv output: put a Hugging Face token in '
                       'vllm_bench_hf_token and the API key in vllm_bench_api_key' % ', '.join(secret))
        bad = [n for n in names if not ENV_NAME_RE.match(n)]
        if bad:
            out.append('vllm_bench_env name(s) %s must be letters, digits and _, not starting with a digit' % ', '.join(to_json(n) for n in bad))
    return out
