"""The vllm_capacity action: each step of the search is one vllm_bench run on the node, which gets the secrets as
vllm_bench's own no_log options (never inside `bench`, which is not no_log), and the bench settings as given (the
environment and the Hugging Face cache of a one-shot container on a management host). The module runs are recorded
here, answering as a server that keeps within the SLO up to 4 req/s."""
from ansible_collections.inferops.gpu_inference.plugins.action.vllm_capacity import ActionModule
from unit_support import make_action

BENCH = {'runner': 'container', 'engine': 'docker', 'image': 'vllm/vllm-openai:v0.32.0', 'base_url': 'http://10.0.0.5:8000',
         'model': 'llama', 'tokenizer': 'meta-llama/Llama-3.2-1B', 'env': {'HF_HUB_OFFLINE': '0'},
         'hf_cache_dir': '/srv/hf-cache', 'input_len': 32, 'output_len': 8, 'result_dir': '/tmp/r'}


def run(args):
    calls = []
    action = make_action(ActionModule, args)

    def execute_module(module_name, module_args, task_vars):
        calls.append((module_name, module_args))
        rate = float(module_args['request_rate'])
        ttft = 100.0 if rate <= 4 else 900.0
        return {'bench': {'completed': module_args['num_prompts'], 'failed': 0, 'ttft_p99_ms': ttft,
                          'request_throughput_rps': rate, 'output_throughput_tok_s': rate * 8}, 'seconds': 1.0}

    action._execute_module = execute_module
    result = action.run(task_vars={'inventory_hostname': 'mgmt'})
    return result, calls


def test_each_run_gets_the_secrets_as_no_log_options_and_the_bench_settings():
    result, calls = run({'bench': BENCH, 'api_key': 'k' * 24, 'hf_token': 'hf_canarytoken123', 'ttft_p99_ms': 500,
                         'low': 1, 'high': 16, 'max_runs': 6, 'num_prompts': 8})
    assert not result.get('failed'), result
    assert calls and all(name == 'inferops.gpu_inference.vllm_bench' for name, dummy in calls)
    for dummy, module_args in calls:
        assert module_args['hf_token'] == 'hf_canarytoken123' and module_args['api_key'] == 'k' * 24
        assert module_args['env'] == {'HF_HUB_OFFLINE': '0'} and module_args['hf_cache_dir'] == '/srv/hf-cache'
        assert module_args['tokenizer'] == 'meta-llama/Llama-3.2-1B'
    assert 'hf_canarytoken123' not in repr(result)


def test_without_secrets_none_is_passed():
    dummy, calls = run({'bench': BENCH, 'ttft_p99_ms': 500, 'low': 1, 'high': 2, 'max_runs': 2, 'num_prompts': 4})
    assert calls and all('hf_token' not in a and 'api_key' not in a for dummy, a in calls)
