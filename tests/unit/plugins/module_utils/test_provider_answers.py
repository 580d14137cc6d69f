"""Tests of plugins/module_utils/provider_answers.py and runpod_api.summary: a provider's answer checked field by field."""
import json
import os

import pytest

from ansible_collections.inferops.gpu_inference.plugins.module_utils import provider_answers as answers
from ansible_collections.inferops.gpu_inference.plugins.module_utils.runpod_api import RunPodError, _pod_path, summary

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'runpod', 'pods.json')
with open(FIXTURES) as _handle:
    PODS = json.load(_handle)
DROPLET = {'id': 1, 'name': 'gpu-a', 'status': 'active', 'tags': ['gpu'], 'size_slug': 'gpu-h100x1-80gb', 'region': {'slug': 'tor1'},
           'networks': {'v4': [{'ip_address': '127.0.0.1', 'type': 'public'}], 'v6': [{'ip_address': '2001:db8::1', 'type': 'public'}]}}


def test_the_recorded_pods_pass_as_they_are():
    infos = [summary(p) for p in PODS]
    assert [(i['name'], i['ssh_host'], i['ssh_port']) for i in infos] == [
        ('vllm-h100-1', '203.0.113.10', 10341), ('vllm-h100x2-1', '203.0.113.11', 10877), ('scratch-l40s', None, None)]


@pytest.mark.parametrize('fields,field', [
    ({'publicIp': '-oProxyCommand=x'}, 'publicIp'), ({'publicIp': '10.0.0.1\n'}, 'publicIp'), ({'name': 'a b'}, 'name'),
    ({'name': '../x'}, 'name'), ({'portMappings': {'22': 70000}}, 'portMappings.22'), ({'portMappings': {'22': '22 '}}, 'portMappings.22'),
    ({'portMappings': ['22']}, 'portMappings'), ({'id': 'a/b'}, 'id'), ({'gpu': {'count': 1.5}}, 'gpu.count'),
    ({'costPerHr': 'free'}, 'costPerHr'), ({'image': 'x\ny'}, 'image'), ({'desiredStatus': None}, 'desiredStatus'),
])
def test_a_bad_pod_field_is_named_with_its_value_cut_short(fields, field):
    with pytest.raises(answers.BadAnswer) as info:
        summary(dict(PODS[0], **fields))
    assert info.value.field == field
    assert str(info.value).startswith(field + '=') and len(str(info.value)) < 300


def test_a_price_as_text_is_read_as_a_number():
    assert summary(dict(PODS[0], costPerHr='0.74'))['cost_per_hr'] == 0.74
    assert summary(dict(PODS[0], costPerHr=None))['cost_per_hr'] is None


def test_a_pod_that_is_not_an_object():
    with pytest.raises(answers.BadAnswer, match='pod="x" must be an object'):
        summary('x')
    assert answers.item_label('x' * 500).endswith('...)') and len(answers.item_label('x' * 500)) < 80
    assert answers.item_label({'id': 'abc', 'name': 'n'}) == '"abc" "n"'


def test_droplets():
    assert answers.droplet(DROPLET) is DROPLET
    for fields, field in (({'networks': {'v4': [{'ip_address': 'evil.example', 'type': 'public'}]}}, 'networks.v4[0].ip_address'),
                          ({'networks': []}, 'networks'), ({'tags': 'gpu'}, 'tags'), ({'tags': ['a b']}, 'tags[0]'),
                          ({'region': 'tor1'}, 'region'), ({'name': None}, 'name'), ({'id': True}, 'id')):
        with pytest.raises(answers.BadAnswer) as info:
            answers.droplet(dict(DROPLET, **fields))
        assert info.value.field == field


def test_a_pod_id_from_an_answer_never_becomes_another_path():
    assert _pod_path('a1b2c3') == '/pods/a1b2c3'
    for bad in ('../x', 'a?b=1', '', None, 'a b'):
        with pytest.raises(RunPodError, match='is not a RunPod id'):
            _pod_path(bad)


def test_retry_after_that_is_not_a_delay_falls_back_to_the_backoff_and_a_token_with_a_newline_is_refused():
    import threading
    from http import server as http_server
    from ansible_collections.inferops.gpu_inference.plugins.module_utils.runpod_api import Client
    answers_left = [('nan', 429), ('-1', 429), (None, 200)]

    class Handler(http_server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            retry, status = answers_left.pop(0)
            self.send_response(status)
            if retry:
                self.send_header('Retry-After', retry)
            body = b'[]'
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = http_server.HTTPServer(('127.0.0.1', 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    slept = []
    try:
        client = Client('tok', 'http://127.0.0.1:%d/v1' % httpd.server_address[1], backoff=0.5, sleep=slept.append)
        assert client.pods() == [] and slept == [0.5, 1.0]
    finally:
        httpd.shutdown()
    with pytest.raises(RunPodError, match='whitespace or control characters') as info:
        Client('tok-secret\n', 'http://127.0.0.1:1/v1')
    assert 'tok-secret' not in str(info.value)


@pytest.mark.parametrize('name', ['pod\n', '127.1', '2130706433', 'localhost.localdomain', 'ip6-localhost', 'ALL'])
def test_names_that_are_not_host_names_of_their_own(name):
    with pytest.raises(answers.BadAnswer):
        answers.host_name(name)
