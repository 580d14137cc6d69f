"""The collection's Alertmanager event source (extensions/eda/plugins/event_source/alertmanager.py), served for real
on loopback in an asyncio loop as ansible-rulebook runs it, fed by HTTP: Alertmanager's webhook payloads as the real
Alertmanager 0.25 (Debian's package) sent them to a receiver (tests/unit/fixtures/alertmanager/, captured with the
monitoring image of the bed), garbage, a wrong method, a wrong path, a missing token."""
import asyncio
import http.client
import json
import logging
import os
import runpy
import socket
import threading
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *(['..'] * 6)))
PLUGIN = runpy.run_path(os.path.join(ROOT, 'extensions', 'eda', 'plugins', 'event_source', 'alertmanager.py'))
FIXTURES = os.path.join(ROOT, 'tests', 'unit', 'fixtures', 'alertmanager')


def fixture(name):
    with open(os.path.join(FIXTURES, name), 'rb') as handle:
        return handle.read()


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class Source(object):
    """The plugin's main() running in a loop of its own thread; the events it put, in order."""

    def __init__(self, args):
        self.events, self.loop = [], asyncio.new_event_loop()
        self.args = dict({'host': '127.0.0.1', 'port': free_port()}, **args)
        self.task = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(('127.0.0.1', int(self.args['port'])), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError('the source did not listen')

    def _run(self):
        asyncio.set_event_loop(self.loop)
        source = self

        class Queue(object):
            async def put(self, event):
                source.events.append(event)

        self.task = self.loop.create_task(PLUGIN['main'](Queue(), self.args))
        try:
            self.loop.run_until_complete(self.task)
        except asyncio.CancelledError:
            pass

    def stop(self):
        self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(10)

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection('127.0.0.1', int(self.args['port']), timeout=10)
        conn.request(method, path, body=body, headers=dict({'Content-Type': 'application/json'}, **(headers or {})))
        resp = conn.getresponse()
        answer = resp.status, json.loads(resp.read().decode())
        conn.close()
        return answer


@pytest.fixture
def source(request):
    made = Source(getattr(request, 'param', {}))
    yield made
    made.stop()


def test_a_firing_payload_makes_one_event_per_alert_with_the_node_as_host(source):
    status, answer = source.request('POST', '/alerts', fixture('webhook-v4-firing.json'))
    assert (status, answer) == (200, {'events': 2})
    payload = json.loads(fixture('webhook-v4-firing.json'))
    assert [e['alert']['labels'] for e in source.events] == [a['labels'] for a in payload['alerts']]
    for event, alert in zip(source.events, payload['alerts']):
        assert event['alert']['status'] == 'firing'
        assert event['alert']['fingerprint'] == alert['fingerprint']
        assert event['alert']['annotations'] == alert['annotations']
        assert event['node'] == alert['labels']['node']
        assert event['meta'] == {'endpoint': '/alerts', 'hosts': [alert['labels']['node']]}
        assert event['alertmanager']['receiver'] == payload['receiver']
        assert event['alertmanager']['groupKey'] == payload['groupKey']


def test_a_resolved_payload_makes_resolved_events(source):
    status, answer = source.request('POST', '/alerts', fixture('webhook-v4-resolved.json'))
    assert status == 200 and answer['events'] == len(json.loads(fixture('webhook-v4-resolved.json'))['alerts'])
    assert source.events and all(e['alert']['status'] == 'resolved' for e in source.events)
    assert all(e['alertmanager']['status'] == 'resolved' for e in source.events)


@pytest.mark.parametrize('body, words', [
    (b'this is not json', 'not JSON'),
    (b'[1, 2, 3]', 'not a JSON object'),
    (b'{"version": "3", "alerts": []}', 'version 4'),
    (b'{"version": "4"}', 'no list of alerts'),
    (b'{"version": "4", "alerts": ["firing"]}', 'alert 0 is not an object'),
    (b'{"version": "4", "alerts": [{"status": "burning", "labels": {"node": "n1"}}]}', "status 'burning'"),
    (b'{"version": "4", "alerts": [{"status": "firing", "labels": {"node": 1}}]}', 'not a map of strings'),
    (b'{"version": "4", "alerts": [{"status": "firing", "labels": {"node": "n1"}}, {"status": "firing"}]}',
     "alert 1's labels"),
])
def test_garbage_is_refused_logged_and_makes_no_event(source, caplog, body, words):
    with caplog.at_level(logging.WARNING, logger='inferops.gpu_inference.alertmanager'):
        status, answer = source.request('POST', '/alerts', body)
    assert status == 400 and words in answer['error']
    assert source.events == []  # not even the good alert before a bad one
    assert any('ignored a request' in r.getMessage() and words in r.getMessage() for r in caplog.records)


def test_a_wrong_method_or_path_is_refused(source):
    assert source.request('GET', '/alerts')[0] == 405
    assert source.request('PUT', '/alerts', fixture('webhook-v4-firing.json'))[0] == 405
    assert source.request('POST', '/other', fixture('webhook-v4-firing.json'))[0] == 404
    assert source.events == []


def test_a_body_over_the_limit_is_refused():
    small = Source({'max_body': '100'})  # templated arguments arrive as strings
    try:
        status, answer = small.request('POST', '/alerts', fixture('webhook-v4-firing.json'))
        assert status == 413 and 'at most 100' in answer['error']
        assert small.events == []
    finally:
        small.stop()


@pytest.mark.parametrize('source', [{'token': 's3cret-token', 'path': '/hook'}], indirect=True)
def test_a_token_is_required_when_set(source):
    body = fixture('webhook-v4-firing.json')
    assert source.request('POST', '/hook', body)[0] == 401
    assert source.request('POST', '/hook', body, {'Authorization': 'Bearer wrong'})[0] == 401
    assert source.events == []
    assert source.request('POST', '/hook', body, {'Authorization': 'Bearer s3cret-token'}) == (200, {'events': 2})


def test_an_alert_without_the_node_label_has_no_hosts(source):
    body = json.dumps({'version': '4', 'status': 'firing', 'receiver': 'r', 'alerts': [
        {'status': 'firing', 'labels': {'alertname': 'Watchdog'}, 'annotations': {}}]})
    assert source.request('POST', '/alerts', body.encode())[0] == 200
    assert source.events[0]['meta'] == {'endpoint': '/alerts'} and 'node' not in source.events[0]


@pytest.mark.parametrize('args, words', [
    ({'port': 'eighty'}, "port='eighty' is not a number"),
    ({'port': 70000}, 'port=70000 is out of range'),
    ({'path': 'alerts'}, "path='alerts' must start with /"),
])
def test_bad_arguments_are_named(args, words):
    with pytest.raises(ValueError, match=words):
        PLUGIN['settings_of'](args)


@pytest.mark.parametrize('node, words', [
    ("{{ lookup('pipe', 'id') }}", 'is not an inventory host name'),  # Ansible would template the extra variable
    ('gpu_nodes,!gpu-a', 'is not an inventory host name'),           # a host pattern, not a host
    ('gpu-z', 'is none of the nodes this rulebook acts on (gpu-a, gpu-b)'),
])
@pytest.mark.parametrize('source', [{'nodes': ['gpu-a', 'gpu-b']}], indirect=True)
def test_a_node_label_that_is_not_one_of_the_nodes_is_refused_and_makes_no_event(source, caplog, node, words):
    """The label becomes the playbook's hosts and an extra variable: whoever can reach the webhook must not choose."""
    payload = json.loads(fixture('webhook-v4-firing.json'))
    payload['alerts'][0]['labels']['node'] = node
    with caplog.at_level(logging.WARNING):
        status, answer = source.request('POST', '/alerts', json.dumps(payload).encode())
    assert status == 400 and words in answer['error'] and source.events == []
    assert words in caplog.text


def test_the_nodes_argument_is_checked():
    with pytest.raises(ValueError, match="nodes=.* must be a list of inventory host names"):
        PLUGIN['settings_of']({'nodes': ['ok', 'no pattern*']})
    assert PLUGIN['settings_of']({'nodes': 'gpu-a, gpu-b'})['nodes'] == frozenset(['gpu-a', 'gpu-b'])
    assert PLUGIN['settings_of']({'nodes': "['gpu-a', 'gpu-b']"})['nodes'] == frozenset(['gpu-a', 'gpu-b'])
