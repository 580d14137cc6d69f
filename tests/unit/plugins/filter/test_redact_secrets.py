"""redact_secrets on docker inspect-shaped data."""
from ansible_collections.inferops.gpu_inference.plugins.filter.redact_secrets import redact_secrets


def test_inspect_env_args_and_keys_are_cleaned():
    inspect = [{
        'Name': '/vllm',
        'Args': ['serve', '/models/m', '--api-key', 'sk-123', '--api-key=sk-456', '--port=8000'],
        'Config': {'Env': ['HF_TOKEN=hf_abc', 'PATH=/usr/bin', 'AWS_SECRET_ACCESS_KEY=xyz', 'HF_HUB_OFFLINE=1'],
                   'Labels': {'inferops.vllm_server.model': 'm', 'api_key': 'sk-789'}},
    }]
    text = repr(redact_secrets(inspect))
    for secret in ('sk-123', 'sk-456', 'sk-789', 'hf_abc', 'xyz'):
        assert secret not in text
    cleaned = redact_secrets(inspect)[0]
    assert cleaned['Args'][-1] == '--port=8000' and cleaned['Args'][1] == '/models/m'
    assert 'PATH=/usr/bin' in cleaned['Config']['Env'] and 'HF_HUB_OFFLINE=1' in cleaned['Config']['Env']
    assert cleaned['Config']['Labels']['inferops.vllm_server.model'] == 'm'
