# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The command line and environment of one `vllm bench serve` run (the vllm_bench module's), for its three runners.

* exec: inside the serving container (`docker|podman exec`); the raw JSON is written inside it and copied out.
* container: a one-shot container of the server's image (`run --rm --network host --entrypoint vllm`), for a benchmark
  from a management host: the result folder, an absolute tokenizer or dataset path that exists here, and the Hugging
  Face cache (at the image's HF_HOME) are mounted.
* local: a vllm on this host's PATH (or /opt/vllm/bin).

Secrets (the server's API key as OPENAI_API_KEY, the Hugging Face token as HF_TOKEN) and every other variable of the
run's environment reach it through the environment only: a container engine gets `-e NAME`, the name alone, and reads
the value from its own environment, which the caller hands it (run_command's environ_update). No value is on a command
line. Standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

# Where the exec runner writes the raw JSON inside the serving container.
EXEC_RESULT_DIR = '/tmp/inferops-bench'
# The Hugging Face cache inside the one-shot container: the vllm/vllm-openai image runs as root, and vllm_server mounts
# its cache there too (server_spec.CTR_HF_HOME).
CTR_HF_HOME = '/root/.cache/huggingface'


def result_dir_inside(p):
    """The folder the benchmark writes its raw JSON to, as seen where it runs."""
    return EXEC_RESULT_DIR if p['runner'] == 'exec' else p['result_dir']


def bench_args(p, result_dir):
    """The arguments after `vllm`: `bench serve` and its options."""
    args = ['bench', 'serve', '--backend', p['backend'], '--base-url', p['base_url'], '--endpoint', p['endpoint'],
            '--model', p['model'], '--dataset-name', p['dataset_name'], '--num-prompts', str(p['num_prompts']),
            '--request-rate', str(p['request_rate']), '--burstiness', str(p['burstiness']), '--seed', str(p['seed']),
            '--percentile-metrics', 'ttft,tpot,itl,e2el', '--metric-percentiles', p['percentiles'],
            '--save-result', '--result-dir', result_dir, '--result-filename', p['result_name']]
    if p['tokenizer']:
        args += ['--tokenizer', p['tokenizer']]
    if p['dataset_name'] == 'random':
        args += ['--random-input-len', str(p['input_len']), '--random-output-len', str(p['output_len'])]
    else:
        args += ['--dataset-path', p['dataset_path']]
    if p['max_concurrency'] > 0:
        args += ['--max-concurrency', str(p['max_concurrency'])]
    if p['goodput']:
        args += ['--goodput'] + p['goodput']
    if p['save_detailed']:
        args.append('--save-detailed')
    return args + p['extra_args']


def environment(p):
    """The run's environment, as (names in the order they are passed, {name: value}): the API key and the Hugging Face
    token, then the env option's variables (sorted), then HF_HOME where a cache folder is given (container: the mount
    point; local: the folder itself; exec: the serving container's own)."""
    env = {}
    names = []

    def put(name, value):
        if name not in env:
            names.append(name)
        env[name] = value

    if p.get('api_key'):
        put('OPENAI_API_KEY', p['api_key'])
    if p.get('hf_token'):
        put('HF_TOKEN', p['hf_token'])
    for name in sorted(p.get('env') or {}):
        value = p['env'][name]
        put(str(name), value if isinstance(value, str) else ('' if value is None else str(value)))
    if p.get('hf_cache_dir') and p['runner'] != 'exec':
        put('HF_HOME', CTR_HF_HOME if p['runner'] == 'container' else p['hf_cache_dir'])
    return names, env


def command(p, executable, exists=os.path.exists):
    """(argv, environment) of the run; executable is the engine's path for exec and container, vllm's for local."""
    args = bench_args(p, result_dir_inside(p))
    names, env = environment(p)
    passed = [flag for name in names for flag in ('-e', name)]  # the names only: values come from the environment
    if p['runner'] == 'exec':
        return [executable, 'exec'] + passed + [p['container'], p['vllm']] + args, env
    if p['runner'] == 'container':
        mounts = ['-v', '%s:%s' % (p['result_dir'], p['result_dir'])]
        for path in (p['tokenizer'], p['dataset_path']):
            if path and os.path.isabs(path) and exists(path):
                mounts += ['-v', '%s:%s:ro' % (path, path)]
        if p.get('hf_cache_dir'):
            mounts += ['-v', '%s:%s' % (p['hf_cache_dir'], CTR_HF_HOME)]
        return ([executable, 'run', '--rm', '--network', 'host', '--entrypoint', p['vllm']] + mounts + passed
                + [p['image']] + args), env
    return [executable] + args, env


def folders_to_make(p):
    """Folders on this host the run writes to, made before it runs (not in check mode)."""
    folders = [p['result_dir']]
    if p.get('hf_cache_dir') and p['runner'] != 'exec':
        folders.append(p['hf_cache_dir'])
    return folders
