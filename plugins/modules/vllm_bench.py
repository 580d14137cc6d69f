#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vllm_bench
short_description: Run one C(vllm bench serve) scenario and return its parsed results
version_added: 0.1.0
description:
  - Runs C(vllm bench serve) once, in one of three ways, and parses its text and C(--save-result) JSON into one
    normalized record (see the module_utils C(vllm_bench_output) docstring for every key; units are in the key names, as in
    C(duration_s), C(output_throughput_tok_s), C(ttft_p99_ms), C(ttft_p99_9_ms), C(request_rate_rps)...).
  - O(runner=exec) runs it inside the serving container (C(docker exec) or C(podman exec)); O(runner=container) runs a
    one-shot container of the same image on a management host (no GPU needed, only the tokenizer), host networking;
    O(runner=local) runs a local C(vllm) install.
  - Optionally samples GPU utilisation, memory and power during the run (one long-lived C(nvidia-smi -lms) process, or
    dcgm-exporter's endpoint), and snapshots the server's C(/metrics) text before and after the run so the controller
    can compute deltas.
  - The API key (C(OPENAI_API_KEY)), the Hugging Face token (C(HF_TOKEN), for a gated tokenizer) and O(env) reach
    C(vllm bench serve) through the environment (C(exec -e NAME) and C(run -e NAME) pass the name only), never on a
    command line. The command is built by the module_utils C(bench_command).
  - Python standard library only on the node.
author:
  - inferops engineers (@inferops)
attributes:
  check_mode:
    support: partial
    description: Can run in check mode and say what it would do.
    details:
      - A benchmark cannot be simulated. In check mode the arguments are checked and the command that would run is
        returned (RV(command), and RV(msg)); nothing runs and no folder is made.
  diff_mode:
    support: none
    description: No diff.
options:
  runner:
    description: Where C(vllm bench serve) runs.
    type: str
    choices: [exec, container, local]
    default: exec
  engine:
    description: Container engine for O(runner=exec) and O(runner=container).
    type: str
    choices: [docker, podman]
    default: docker
  container:
    description: The serving container, for O(runner=exec).
    type: str
  image:
    description: Image of the one-shot container, for O(runner=container).
    type: str
  vllm:
    description: The C(vllm) executable (O(runner=local)), or inside the container.
    type: str
    default: vllm
  base_url:
    description: The server, as seen from where the benchmark runs.
    type: str
    default: http://127.0.0.1:8000
  model:
    description: Served model name.
    type: str
    required: true
  tokenizer:
    description: Tokenizer path or id, as seen from where the benchmark runs.
    type: str
  backend:
    description: C(--backend).
    type: str
    default: vllm
  endpoint:
    description: C(--endpoint).
    type: str
    default: /v1/completions
  dataset_name:
    description: C(random), or C(sharegpt) with O(dataset_path).
    type: str
    choices: [random, sharegpt]
    default: random
  dataset_path:
    description:
      - A ShareGPT-format JSON file, as seen from where the benchmark runs.
      - Inside the serving container for runner C(exec); on this host for C(container) (which mounts it) and C(local).
    type: str
  input_len:
    description: C(--random-input-len).
    type: int
    default: 1000
  output_len:
    description: C(--random-output-len).
    type: int
    default: 100
  num_prompts:
    description: C(--num-prompts).
    type: int
    default: 10
  request_rate:
    description: Requests per second, or V(inf).
    type: str
    default: inf
  max_concurrency:
    description: C(--max-concurrency); 0 for none.
    type: int
    default: 0
  burstiness:
    description: C(--burstiness) (1 is Poisson).
    type: float
    default: 1.0
  seed:
    description: C(--seed).
    type: int
    default: 0
  goodput:
    description: SLOs for goodput, such as C(ttft:500) and C(tpot:50) (milliseconds).
    type: list
    elements: str
    default: []
  percentiles:
    description: C(--metric-percentiles).
    type: str
    default: "50,90,95,99"
  save_detailed:
    description: Keep per-request lists (C(--save-detailed)); they stay in the raw JSON, the result gets a count.
    type: bool
    default: false
  result_dir:
    description: Folder on the node where the raw JSON is kept.
    type: path
    default: /var/lib/inferops/bench
  result_name:
    description: File name of the raw JSON.
    type: str
    required: true
  api_key:
    description: API key of the server.
    type: str
  hf_token:
    description:
      - Hugging Face token, for a gated tokenizer the run downloads (C(HF_TOKEN) in its environment; never on a command
        line, never returned).
    type: str
  env:
    description:
      - More environment variables of the run (names, and values given through the environment, as for the token), such
        as C(HF_ENDPOINT) or C(HF_HUB_OFFLINE).
    type: dict
    default: {}
  hf_cache_dir:
    description:
      - The Hugging Face cache on this host, where the tokenizer is downloaded to and read from again. O(runner=container)
        mounts it at the image's C(/root/.cache/huggingface) (C(HF_HOME)); O(runner=local) sets C(HF_HOME) to it; the
        O(runner=exec) container has its own. Made when missing. Unset for none.
    type: path
  extra_args:
    description: More C(vllm bench serve) arguments.
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds the run may take.
    type: int
    default: 3600
  sample_gpu:
    description: Sample GPUs during the run from V(nvidia-smi) or V(dcgm-exporter); V(none) to skip.
    type: str
    choices: [nvidia-smi, dcgm-exporter, none]
    default: none
  sample_interval_ms:
    description: Sampling interval.
    type: int
    default: 500
  nvidia_smi:
    description: nvidia-smi for sampling.
    type: str
    default: nvidia-smi
  dcgm_url:
    description: dcgm-exporter's metrics URL for sampling.
    type: str
    default: http://127.0.0.1:9400/metrics
  server_metrics:
    description: Snapshot the server's C(/metrics) before and after the run.
    type: bool
    default: true
  metrics_url:
    description:
      - The server's base URL as seen from the node, for C(/metrics); O(base_url) by default. They differ with
        O(runner=exec) on a bridge network, where O(base_url) is the port inside the container.
    type: str
"""

EXAMPLES = r"""
- name: 10 prompts at once, inside the serving container
  inferops.gpu_inference.vllm_bench:
    runner: exec
    container: vllm
    model: llama-3.1-8b
    tokenizer: /models/llama-3.1-8b
    input_len: 1000
    output_len: 100
    num_prompts: 10
    request_rate: inf
    result_name: burst10.json
    sample_gpu: nvidia-smi
  register: bench
"""

RETURN = r"""
bench:
  description: The normalized results (text and JSON merged); C(unparsed) lists what was not understood.
  returned: success
  type: dict
  sample: {completed: 10, failed: 0, output_throughput_tok_s: 247.1, ttft_p99_ms: 1402.77, request_rate_unlimited: true}
raw_json:
  description: Path of the raw C(--save-result) JSON on the node.
  returned: success
  type: str
msg:
  description: In check mode, the command that would run.
  returned: in check mode
  type: str
command:
  description: The command that ran, or in check mode would run (no secrets in it).
  returned: always
  type: list
  elements: str
gpu:
  description:
    - Summary of the GPU samples (mean and peak utilisation, idle fraction, peak memory, mean power), and C(series).
    - C(sampler_cpu_s) is the CPU time the sampling itself used on the node (the nvidia-smi process, or the dcgm-exporter
      polling thread), which is what the sampling cost the run.
  returned: when O(sample_gpu) is not V(none)
  type: dict
server_metrics:
  description: C(before) and C(after) texts of the server's C(/metrics).
  returned: when O(server_metrics=true)
  type: dict
seconds:
  description: Wall time of the run.
  returned: always
  type: float
stdout_tail:
  description: The last lines of the benchmark's output.
  returned: always
  type: list
  elements: str
"""

import os
import time

from ansible.module_utils.six.moves import shlex_quote

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.inferops.gpu_inference.plugins.module_utils import bench_command, http_util
from ansible_collections.inferops.gpu_inference.plugins.module_utils.gpu_sampler import Sampler, summarize
from ansible_collections.inferops.gpu_inference.plugins.module_utils.vllm_bench_output import (
    BenchOutputError, merge, parse_json, parse_text)


def metrics_text(base_url, api_key):
    scheme, host, port, dummy = http_util.split(base_url)
    headers = {'Authorization': 'Bearer ' + api_key} if api_key else {}
    status, text = http_util.get_text('%s://%s:%s/metrics' % (scheme, host, port), headers=headers)
    return text if status == 200 else None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            runner=dict(type='str', default='exec', choices=['exec', 'container', 'local']),
            engine=dict(type='str', default='docker', choices=['docker', 'podman']),
            container=dict(type='str'),
            image=dict(type='str'),
            vllm=dict(type='str', default='vllm'),
            base_url=dict(type='str', default='http://127.0.0.1:8000'),
            model=dict(type='str', required=True),
            tokenizer=dict(type='str', no_log=False),
            backend=dict(type='str', default='vllm'),
            endpoint=dict(type='str', default='/v1/completions'),
            dataset_name=dict(type='str', default='random', choices=['random', 'sharegpt']),
            dataset_path=dict(type='str'),
            input_len=dict(type='int', default=1000),
            output_len=dict(type='int', default=100),
            num_prompts=dict(type='int', default=10),
            request_rate=dict(type='str', default='inf'),
            max_concurrency=dict(type='int', default=0),
            burstiness=dict(type='float', default=1.0),
            seed=dict(type='int', default=0),
            goodput=dict(type='list', elements='str', default=[]),
            percentiles=dict(type='str', default='50,90,95,99'),
            save_detailed=dict(type='bool', default=False),
            result_dir=dict(type='path', default='/var/lib/inferops/bench'),
            result_name=dict(type='str', required=True),
            api_key=dict(type='str', no_log=True),
            hf_token=dict(type='str', no_log=True),
            env=dict(type='dict', default={}),
            hf_cache_dir=dict(type='path'),
            extra_args=dict(type='list', elements='str', default=[]),
            timeout=dict(type='int', default=3600),
            sample_gpu=dict(type='str', default='none', choices=['nvidia-smi', 'dcgm-exporter', 'none']),
            sample_interval_ms=dict(type='int', default=500),
            nvidia_smi=dict(type='str', default='nvidia-smi'),
            dcgm_url=dict(type='str', default='http://127.0.0.1:9400/metrics'),
            server_metrics=dict(type='bool', default=True),
            metrics_url=dict(type='str'),
        ),
        required_if=[('runner', 'exec', ['container']), ('runner', 'container', ['image']),
                     ('dataset_name', 'sharegpt', ['dataset_path'])],
        supports_check_mode=True,
    )
    p = module.params
    if p['request_rate'] != 'inf':
        try:
            if float(p['request_rate']) <= 0:
                raise ValueError
        except ValueError:
            module.fail_json(msg='request_rate=%s must be a positive number or inf' % p['request_rate'])
    if '/' in p['result_name']:
        module.fail_json(msg='result_name=%s must be a file name, not a path' % p['result_name'])
    if p['dataset_path'] and p['runner'] != 'exec' and not os.path.isfile(p['dataset_path']):
        module.fail_json(msg='dataset_path=%s is not a file on this host; runner %s reads it from here%s' % (
            p['dataset_path'], p['runner'], ' (the one-shot container mounts it)' if p['runner'] == 'container' else ''))
    # In check mode a missing executable is named, not fatal: an earlier play of the same check run (vllm_server)
    # would have installed it.
    check = module.check_mode
    if p['runner'] == 'local':
        name, opt_dirs = p['vllm'], ['/opt/vllm/bin']
    else:
        name, opt_dirs = p['engine'], []
    found = module.get_bin_path(name, required=not check, opt_dirs=opt_dirs)
    executable = found or name
    cmd, env = bench_command.command(p, executable)
    if check:
        module.exit_json(changed=True, command=cmd, msg='check mode: would run %s%s' % (
            ' '.join(shlex_quote(a) for a in cmd), '' if found else ' (%s not found on this host yet)' % name))

    for folder in bench_command.folders_to_make(p):
        if not os.path.isdir(folder):
            try:
                os.makedirs(folder)
            except OSError as exc:
                module.fail_json(msg='cannot make the folder %s on this host (%s): %s' % (
                    folder, 'hf_cache_dir' if folder == p['hf_cache_dir'] else 'result_dir', exc))
    inside_dir = bench_command.result_dir_inside(p)
    if p['runner'] == 'exec':
        module.run_command([executable, 'exec', p['container'], 'mkdir', '-p', inside_dir], check_rc=True)

    before = metrics_text(p['metrics_url'] or p['base_url'], p['api_key']) if p['server_metrics'] else None
    sampler = None
    if p['sample_gpu'] != 'none':
        sampler = Sampler(p['sample_gpu'], p['sample_interval_ms'], p['nvidia_smi'], p['dcgm_url'])
        sampler.start()
    start = time.time()
    rc, out, err = module.run_command(cmd, environ_update=env or None)
    seconds = round(time.time() - start, 3)
    samples = sampler.stop() if sampler else None
    after = metrics_text(p['metrics_url'] or p['base_url'], p['api_key']) if p['server_metrics'] else None
    tail = (out + err).splitlines()[-30:]
    result = dict(changed=True, command=cmd, seconds=seconds, stdout_tail=tail, rc=rc)
    if rc != 0:
        module.fail_json(msg='vllm bench serve failed (rc %d): %s' % (rc, ' | '.join(tail[-5:])), **result)

    raw = os.path.join(p['result_dir'], p['result_name'])
    if p['runner'] == 'exec':
        rc2, out2, err2 = module.run_command([executable, 'cp', '%s:%s/%s' % (p['container'], inside_dir, p['result_name']), raw])
        if rc2 != 0:
            module.fail_json(msg='cannot copy the result JSON out of %s: %s' % (p['container'], err2.strip()), **result)
    try:
        text_part = parse_text(out)
    except BenchOutputError as exc:
        text_part = {'unparsed': ['text output: %s' % exc]}
    try:
        with open(raw) as handle:
            json_part = parse_json(handle.read(), detailed=False)
    except (IOError, OSError, BenchOutputError) as exc:
        module.fail_json(msg='cannot read the result JSON %s: %s' % (raw, exc), **result)
    results = merge(text_part, json_part)
    if p['save_detailed']:
        results['detailed_requests'] = results.get('completed', 0) + (results.get('failed') or 0)
    result.update(bench=results, raw_json=raw)
    if not results.get('completed'):
        module.fail_json(msg='no request succeeded (%s failed) against %s: %s' % (
            results.get('failed'), p['base_url'], results.get('first_error') or 'no error text'), **result)
    if samples is not None:
        result['gpu'] = dict(summarize(samples), series=samples, errors=sampler.errors, sampler_cpu_s=round(sampler.cpu_s, 4))
    if p['server_metrics']:
        result['server_metrics'] = {'before': before, 'after': after}
    module.exit_json(**result)


if __name__ == '__main__':
    main()
