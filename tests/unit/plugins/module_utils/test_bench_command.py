"""bench_command: the command line and environment of a `vllm bench serve` run for the exec, container and local runners
(vllm_bench's). A benchmark from a management host (the container runner) gets the Hugging Face token, the environment
and the cache of a gated tokenizer; no value of the environment, secret or not, is on the command line."""
import json

from ansible_collections.inferops.gpu_inference.plugins.module_utils import bench_command

TOKEN = 'hf_GatedTokenizerCanary42'
KEY = 'sk-bench-canary-17'


def params(**more):
    p = {'runner': 'container', 'engine': 'docker', 'container': 'vllm', 'image': 'docker.io/vllm/vllm-openai:v0.32.0',
         'vllm': 'vllm', 'base_url': 'http://10.0.0.5:8000', 'model': 'llama', 'tokenizer': 'meta-llama/Llama-3.1-8B-Instruct',
         'backend': 'vllm', 'endpoint': '/v1/completions', 'dataset_name': 'random', 'dataset_path': None, 'input_len': 32,
         'output_len': 8, 'num_prompts': 4, 'request_rate': 'inf', 'max_concurrency': 0, 'burstiness': 1.0, 'seed': 0,
         'goodput': [], 'percentiles': '50,90,95,99', 'save_detailed': False, 'result_dir': '/var/lib/inferops/bench',
         'result_name': 'r.json', 'api_key': None, 'hf_token': None, 'env': {}, 'hf_cache_dir': None, 'extra_args': []}
    p.update(more)
    return p


def test_the_one_shot_container_gets_the_token_the_env_and_the_cache_by_name_only():
    p = params(api_key=KEY, hf_token=TOKEN, env={'HF_ENDPOINT': 'https://hf.example', 'HF_HUB_ETAG_TIMEOUT': 30},
               hf_cache_dir='/srv/hf-cache')
    argv, env = bench_command.command(p, '/usr/bin/docker', exists=lambda path: False)
    image = argv.index('docker.io/vllm/vllm-openai:v0.32.0')
    assert argv[:7] == ['/usr/bin/docker', 'run', '--rm', '--network', 'host', '--entrypoint', 'vllm']
    assert argv[7:image] == ['-v', '/var/lib/inferops/bench:/var/lib/inferops/bench', '-v', '/srv/hf-cache:/root/.cache/huggingface',
                             '-e', 'OPENAI_API_KEY', '-e', 'HF_TOKEN', '-e', 'HF_ENDPOINT', '-e', 'HF_HUB_ETAG_TIMEOUT', '-e', 'HF_HOME']
    assert argv[image + 1:image + 3] == ['bench', 'serve']
    assert argv[argv.index('--tokenizer') + 1] == 'meta-llama/Llama-3.1-8B-Instruct'
    assert env == {'OPENAI_API_KEY': KEY, 'HF_TOKEN': TOKEN, 'HF_ENDPOINT': 'https://hf.example', 'HF_HUB_ETAG_TIMEOUT': '30',
                   'HF_HOME': '/root/.cache/huggingface'}
    line = json.dumps(argv)
    assert TOKEN not in line and KEY not in line and 'hf.example' not in line
    assert bench_command.folders_to_make(p) == ['/var/lib/inferops/bench', '/srv/hf-cache']


def test_a_container_without_token_env_or_cache_is_run_as_before():
    argv, env = bench_command.command(params(tokenizer='/models/llama'), 'docker', exists=lambda path: path == '/models/llama')
    assert argv[7:12] == ['-v', '/var/lib/inferops/bench:/var/lib/inferops/bench', '-v', '/models/llama:/models/llama:ro',
                          'docker.io/vllm/vllm-openai:v0.32.0'] and '-e' not in argv and env == {}


def test_exec_passes_the_names_and_keeps_the_serving_containers_cache():
    argv, env = bench_command.command(params(runner='exec', hf_token=TOKEN, env={'A': 'b'}, hf_cache_dir='/srv/hf-cache'), 'podman')
    assert argv[:8] == ['podman', 'exec', '-e', 'HF_TOKEN', '-e', 'A', 'vllm', 'vllm']
    assert argv[argv.index('--result-dir') + 1] == '/tmp/inferops-bench'
    assert env == {'HF_TOKEN': TOKEN, 'A': 'b'} and bench_command.folders_to_make(params(runner='exec', hf_cache_dir='/x')) == [
        '/var/lib/inferops/bench']


def test_local_runs_vllm_with_the_environment_and_the_cache_as_hf_home():
    argv, env = bench_command.command(params(runner='local', hf_token=TOKEN, hf_cache_dir='/srv/hf-cache'), '/opt/vllm/bin/vllm')
    assert argv[:3] == ['/opt/vllm/bin/vllm', 'bench', 'serve'] and '-e' not in argv and TOKEN not in json.dumps(argv)
    assert env == {'HF_TOKEN': TOKEN, 'HF_HOME': '/srv/hf-cache'}
