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
