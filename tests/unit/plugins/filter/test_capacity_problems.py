"""capacity_problems: the role's capacity settings, checked by plugin_utils/capacity.settings_problems, named as the role's variables."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.gpu_inference.plugins.filter.bench import FilterModule, capacity_problems

ROLE = {'vllm_bench_capacity_mode': 'rate', 'vllm_bench_capacity_low': 0.5, 'vllm_bench_capacity_high': 64.0,
        'vllm_bench_capacity_precision': 0.1, 'vllm_bench_capacity_max_runs': 12, 'vllm_bench_capacity_num_prompts': 100,
        'vllm_bench_capacity_ttft_p99_ms': 1000, 'vllm_bench_capacity_tpot_p99_ms': 100,
        'vllm_bench_capacity_input_len': 1000, 'vllm_bench_capacity_output_len': 100}


def test_the_defaults_pass_and_the_filter_is_registered():
    assert capacity_problems(ROLE) == []
    assert FilterModule().filters()['capacity_problems'] is capacity_problems


@pytest.mark.parametrize('changes,words', [
    ({'vllm_bench_capacity_mode': 'concurrency'}, 'vllm_bench_capacity_low=0.5 must be a whole number of 1 or more in concurrency mode'),
    ({'vllm_bench_capacity_mode': 'concurrency', 'vllm_bench_capacity_low': 1, 'vllm_bench_capacity_high': 7.5},
     'vllm_bench_capacity_high=7.5 must be a whole number of 1 or more'),
    ({'vllm_bench_capacity_input_len': 0}, 'vllm_bench_capacity_input_len=0 must be a whole number of 1 or more'),
    ({'vllm_bench_capacity_output_len': 0}, 'vllm_bench_capacity_output_len=0 must be a whole number of 1 or more'),
    ({'vllm_bench_capacity_tpot_p99_ms': -1}, 'vllm_bench_capacity_tpot_p99_ms=-1 must be milliseconds above 0'),
    ({'vllm_bench_capacity_ttft_p99_ms': 'fast'}, 'vllm_bench_capacity_ttft_p99_ms="fast" must be milliseconds above 0'),
    ({'vllm_bench_capacity_low': 0}, 'vllm_bench_capacity_low=0 and vllm_bench_capacity_high=64.0 must satisfy 0 < low <= high'),
    ({'vllm_bench_capacity_ttft_p99_ms': None, 'vllm_bench_capacity_tpot_p99_ms': None},
     'vllm_bench_capacity_ttft_p99_ms and vllm_bench_capacity_tpot_p99_ms are both null'),
    ({'vllm_bench_capacity_max_runs': 1}, 'vllm_bench_capacity_max_runs=1 must be 2 or more'),
])
def test_each_problem_names_the_role_variable(changes, words):
    found = capacity_problems(dict(ROLE, **changes))
    assert len(found) == 1 and words in found[0], found


def test_lengths_left_out_are_not_checked_and_a_non_dict_is_an_error():
    settings = dict(ROLE)
    del settings['vllm_bench_capacity_input_len'], settings['vllm_bench_capacity_output_len']
    assert capacity_problems(settings) == []
    with pytest.raises(AnsibleFilterError):
        capacity_problems(['vllm_bench_capacity_low'])
