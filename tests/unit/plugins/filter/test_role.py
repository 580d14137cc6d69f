"""filter unknown_role_variables: a mistyped setting is named, with the closest real one."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.gpu_inference.plugins.filter.role import unknown_role_variables


def test_a_mistyped_setting_is_named_with_the_closest_one():
    found = unknown_role_variables(['vllm_bench_extra_args', 'vllm_bench_scenarios', 'vllm_bench_warmup_promts', 'other_var'], 'vllm_bench')
    assert found == ['vllm_bench_extra_args is not a variable of the role vllm_bench; its settings are listed by ansible-doc -t role',
                     'vllm_bench_warmup_promts is not a variable of the role vllm_bench (did you mean vllm_bench_warmup_prompts?)']


def test_options_of_every_entry_point_and_the_outputs_are_known():
    names = ['vllm_bench_capacity_low', 'vllm_bench_records', 'vllm_server_max_model_len', 'vllm_server_result']
    assert unknown_role_variables(names, 'vllm_bench', ['vllm_bench_records']) == []
    assert unknown_role_variables(names, 'vllm_server', ['vllm_server_result']) == []
    assert unknown_role_variables(['vllm_server_max_model_length'], 'vllm_server') == [
        'vllm_server_max_model_length is not a variable of the role vllm_server (did you mean vllm_server_max_model_len?)']


def test_a_role_without_a_spec_is_refused():
    with pytest.raises(AnsibleFilterError, match='nope is not a role'):
        unknown_role_variables(['nope_x'], 'nope')
