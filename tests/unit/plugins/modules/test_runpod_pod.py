"""runpod_pod run as a module against the RunPod API test double (tests/doubles/runpod_api_double.py, started
in-process on a free loopback port with make_server(port=0), fresh for each test): create (and the wait for the IP
and port mappings), resume, stop, terminate, each idempotent; check mode; what the API refuses (bad GPU type, bad
key, no capacity, a half-made pod, rate limiting) and what the module refuses before any API call."""
import json
import threading

import pytest

import runpod_api_double
from unit_support import run_module

TOKEN = 'test-token'
CREATE = {'name': 'vllm-new', 'image': 'vllm/vllm-openai:v0.32.0', 'gpu_type': 'NVIDIA H100 80GB HBM3', 'gpu_count': 2,
          'docker_args': ['--model', 'm', '--tensor-parallel-size', '2'], 'secret_env': {'HF_TOKEN': 'hf_SecretValue42'},
          'env': {'HF_HUB_OFFLINE': '1'}}
# The recorded pod vllm-h100-1 (tests/unit/fixtures/runpod/pods.json) exposes 8000 over http and 22 over tcp.
EXISTING = {'name': 'vllm-h100-1', 'ports': ['8000/http', '22/tcp']}


@pytest.fixture
def api(request, monkeypatch):
    monkeypatch.delenv('RUNPOD_API_KEY', raising=False)
    monkeypatch.delenv('RUNPOD_API_TOKEN', raising=False)
    server = runpod_api_double.make_server(port=0, **getattr(request, 'param', {}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def pod(api, args, token=TOKEN, check=False):
    args = dict({'api_url': 'http://127.0.0.1:%d/v1' % api.server_address[1], 'poll_interval': 0.05}, **args)
    return run_module('runpod_pod', args, {'RUNPOD_API_KEY': token} if token else {}, check_mode=check)


def live(api, name):
    return [p for p in api.state.pods.values() if p['name'] == name and p['desiredStatus'] != 'TERMINATED']


def writes(api):
    return [line for line in api.state.log if not line.startswith('GET ')]


def test_create_sends_the_settings_and_waits_for_the_ip_and_ports(api):
    created = pod(api, CREATE)
    assert created['_rc'] == 0 and created['changed'] and created['operation'] == 'created', created
    made = live(api, 'vllm-new')
    assert len(made) == 1
    summary = created['pod']
    assert summary['id'] == made[0]['id'] and summary['status'] == 'RUNNING' and summary['gpu_count'] == 2
    assert summary['public_ip'] == made[0]['publicIp'] == summary['ssh_host']
    assert summary['ssh_port'] == made[0]['portMappings']['22'] and set(summary['port_mappings']) == {'22', '8000'}
    assert made[0]['dockerStartCmd'] == CREATE['docker_args'] and made[0]['ports'] == ['8000/tcp', '22/tcp']
    assert sorted(made[0]['env']) == ['HF_HUB_OFFLINE', 'HF_TOKEN']  # secret_env reached the API too
    # The double hides the IP for its first 2 reads: the module had to read the pod again until it was placed.
    assert api.state.reads[made[0]['id']] >= 2 and writes(api) == ['POST /v1/pods']
    assert 'hf_SecretValue42' not in json.dumps(created)


def test_a_second_run_changes_nothing(api):
    pod(api, CREATE)
    before = len(writes(api))
    again = pod(api, CREATE)
    assert again['_rc'] == 0 and again['changed'] is False and again['operation'] == 'none'
    assert len(writes(api)) == before and len(live(api, 'vllm-new')) == 1


def test_stop_then_resume_each_once(api):
    pod_id = live(api, 'vllm-h100-1')[0]['id']
    stopped = pod(api, dict(EXISTING, state='stopped'))
    assert stopped['changed'] and stopped['operation'] == 'stopped' and live(api, 'vllm-h100-1')[0]['desiredStatus'] == 'EXITED'
    assert pod(api, dict(EXISTING, state='stopped'))['changed'] is False
    resumed = pod(api, dict(EXISTING, state='present'))
    assert resumed['changed'] and resumed['operation'] == 'resumed' and resumed['pod']['status'] == 'RUNNING'
    assert resumed['pod']['ssh_port'] and resumed['pod']['id'] == pod_id
    assert writes(api) == ['POST /v1/pods/%s/stop' % pod_id, 'POST /v1/pods/%s/start' % pod_id]


def test_terminate_is_idempotent_and_check_mode_only_says_it(api):
    checked = pod(api, {'name': 'vllm-h100-1', 'state': 'absent'}, check=True)
    assert checked['changed'] is True and checked['operation'] == 'terminated' and live(api, 'vllm-h100-1')
    done = pod(api, {'name': 'vllm-h100-1', 'state': 'absent'})
    assert done['changed'] and done['operation'] == 'terminated' and live(api, 'vllm-h100-1') == []
    again = pod(api, {'name': 'vllm-h100-1', 'state': 'absent'})
    assert again['changed'] is False and again['operation'] == 'none'


def test_check_mode_create_and_resume_call_no_write_endpoint(api):
    assert pod(api, CREATE, check=True)['operation'] == 'created'
    assert pod(api, {'name': 'scratch-l40s', 'ports': ['22/tcp']}, check=True)['operation'] == 'resumed'
    assert writes(api) == [] and live(api, 'vllm-new') == [] and live(api, 'scratch-l40s')[0]['desiredStatus'] == 'EXITED'


def test_what_the_api_refuses_is_said_with_its_words(api):
    unknown = pod(api, dict(CREATE, gpu_type='NVIDIA H900'))
    assert unknown['_rc'] == 1 and unknown['operation'] == 'failed' and unknown['status'] == 400
    assert 'HTTP 400' in unknown['msg'] and 'invalid gpuTypeIds' in unknown['msg'] and 'NVIDIA H200' in unknown['msg']
    bad_key = pod(api, CREATE, token='wrong-key-123')
    assert bad_key['_rc'] == 1 and bad_key['status'] == 401 and 'RUNPOD_API_KEY' in bad_key['msg']
    assert 'wrong-key-123' not in json.dumps(bad_key)
    no_key = pod(api, CREATE, token=None)
    assert no_key['_rc'] == 1 and 'no RunPod API key' in no_key['msg']
    assert live(api, 'vllm-new') == []


def test_what_is_missing_to_create_or_stop_is_said_before_any_write(api):
    missing = pod(api, {'name': 'vllm-new', 'image': 'img'})
    assert missing['_rc'] == 1 and missing['msg'] == 'to create pod vllm-new, give gpu_type'
    nothing = pod(api, {'name': 'vllm-new', 'state': 'stopped'})
    assert nothing['_rc'] == 1 and 'no live pod named vllm-new' in nothing['msg']
    assert writes(api) == []


@pytest.mark.parametrize('bad, words', [({'name': 'bad name!'}, 'name="bad name!" must be'),
                                        ({'env': {'API_KEY': 'plain-secret-9'}}, 'look like secrets'),
                                        ({'ports': ['8000/udp']}, 'must be PORT/http or PORT/tcp'),
                                        ({'gpu_count': 0}, 'gpu_count=0 must be a whole number of 1 or more')])
def test_invalid_settings_fail_before_any_api_call(api, bad, words):
    result = pod(api, dict(CREATE, **bad))
    assert result['_rc'] == 1 and words in result['msg'] and result['operation'] == 'none'
    assert api.state.requests == 0 and 'plain-secret-9' not in json.dumps(result)


def test_two_live_pods_of_one_name_are_an_error_naming_both(api):
    first = live(api, 'vllm-h100-1')[0]
    api.state.pods['zzcopy'] = dict(first, id='zzcopy')
    result = pod(api, EXISTING)
    assert result['_rc'] == 1 and '2 live pods are named vllm-h100-1' in result['msg']
    assert first['id'] in result['msg'] and 'zzcopy' in result['msg']


@pytest.mark.parametrize('api', [{'fail_create': 'half-made'}], indirect=True)
def test_a_create_that_failed_after_making_the_pod_terminates_it(api):
    result = pod(api, CREATE)
    assert result['_rc'] == 1 and result['operation'] == 'cleaned up'
    assert 'upstream timeout' in result['msg'] and 'was terminated' in result['msg']
    assert live(api, 'vllm-new') == [] and any(line.startswith('DELETE /v1/pods/') for line in writes(api))


@pytest.mark.parametrize('api', [{'fail_create': 'no-capacity'}], indirect=True)
def test_a_refused_create_is_not_retried(api):
    result = pod(api, CREATE)
    assert result['_rc'] == 1 and result['status'] == 500 and 'no longer any instances available' in result['msg']
    assert writes(api) == ['POST /v1/pods']  # a retried POST could make a second pod


@pytest.mark.parametrize('api', [{'rate_limit_every': 2}], indirect=True)
def test_rate_limited_requests_are_retried(api):
    result = pod(api, CREATE)
    assert result['_rc'] == 0 and result['operation'] == 'created', result
    assert len(live(api, 'vllm-new')) == 1 and result['api_requests'] == api.state.requests >= 4


@pytest.mark.parametrize('api', [{'provision_reads': 10 ** 6}], indirect=True)
def test_a_wait_that_times_out_says_what_it_saw(api):
    result = pod(api, dict(CREATE, wait_timeout=1))
    assert result['_rc'] == 1 and result['operation'] == 'waited'
    assert 'did not run with its ports mapped within 1 s' in result['msg'] and 'public IP null, mappings null' in result['msg']
    assert result['pod']['id'] == live(api, 'vllm-new')[0]['id']


def test_an_answer_that_cannot_be_used_is_refused_with_the_pod_id(api):
    api.state.patch = {'publicIp': '203.0.113.5; rm -rf /'}
    result = pod(api, dict(EXISTING, state='stopped'))
    assert result['_rc'] == 1 and result['operation'] == 'failed' and 'not used' in result['msg'] and 'publicIp' in result['msg']
    assert result['changed'] is True and result['pod_id'] == live(api, 'vllm-h100-1')[0]['id']
