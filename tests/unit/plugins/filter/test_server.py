"""filter vllm_server_model: the served name and the path or id loaded, by vllm_server's rule, for its readers."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.gpu_inference.plugins.filter.server import vllm_server_model


def test_a_staged_folder_is_served_by_its_path_under_the_model_dir():
    got = vllm_server_model({'vllm_server_model': '', 'vllm_server_model_source': '/home/me/llama3-8b/'})
    assert got['ref'] == '/var/lib/inferops/models/llama3-8b' and got['name'] == 'llama3-8b' and got['staged']


def test_the_served_name_wins_and_the_model_is_the_tokenizer():
    got = vllm_server_model({'vllm_server_model': 'meta-llama/Llama-3.1-8B-Instruct', 'vllm_server_served_model_name': 'chat'})
    assert (got['name'], got['ref'], got['is_path']) == ('chat', 'meta-llama/Llama-3.1-8B-Instruct', False)
    assert vllm_server_model({'vllm_server_model': '/mnt/models/llama3-70b-awq/'})['name'] == 'llama3-70b-awq'


def test_a_given_model_dir_is_used():
    got = vllm_server_model({'vllm_server_model_source': 'files/m', 'vllm_server_model_dir': '/srv/models'})
    assert got['ref'] == '/srv/models/m'


@pytest.mark.parametrize('bad', [['x'], {'vllm_server_modle': 'x'}])
def test_anything_else_is_refused_by_name(bad):
    with pytest.raises(AnsibleFilterError, match='vllm_server_model'):
        vllm_server_model(bad)
