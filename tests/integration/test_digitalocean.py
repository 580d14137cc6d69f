"""DigitalOcean inventory configuration and the droplet role against the DigitalOcean API test double.

community.digitalocean's inventory plugin and droplet module take a base URL, so the real
bundled code runs here against tests/doubles/digitalocean_api_double.py on loopback (its
droplets have the address 127.0.0.1, and the SSH wait is aimed at a local listener).
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import threading

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'doubles'))
import digitalocean_api_double  # noqa: E402  pylint: disable=wrong-import-position

BIN = os.path.dirname(sys.executable)


@pytest.fixture()
def api():
    server = digitalocean_api_double.make_server(per_page=1)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def env(token='do-test-token'):
    out = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'),
               ANSIBLE_NOCOLOR='1')
    for key in ('DO_API_TOKEN', 'DIGITALOCEAN_TOKEN'):
        out.pop(key, None)
    if token:
        out['DO_API_TOKEN'] = token
    return out


def playbook(name, api, extra, token='do-test-token'):
    extra = dict({'provider': 'digitalocean', 'droplet_api_url': 'http://127.0.0.1:%d/v2' % api.server_address[1],
                  'droplet_wait_timeout': 30}, **extra)
    cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local', '-e', 'ansible_python_interpreter=' + sys.executable,
           '-e', json.dumps(extra), os.path.join(ROOT, 'playbooks', name)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env(token), cwd=ROOT, timeout=300, check=False)
    return proc.returncode, proc.stdout + proc.stderr


LIST = [{'name': 'gpu-a', 'size': 'gpu-h100x1-80gb', 'region': 'tor1'}, {'name': 'gpu-b', 'size': 'gpu-l40sx1-48gb', 'region': 'nyc2'}]


def test_provision_is_idempotent_then_inventory_then_teardown(api, ssh_port, tmp_path):
    rc, out = playbook('provision.yml', api, {'droplet_list': LIST, 'droplet_ssh_port': ssh_port})
    assert rc == 0, out
    assert sorted(d['name'] for d in api.state.droplets.values()) == ['gpu-a', 'gpu-b']
    posts = [line for line in api.state.log if line.startswith('POST')]
    rc, out = playbook('provision.yml', api, {'droplet_list': LIST, 'droplet_ssh_port': ssh_port})
    assert rc == 0, out
    assert [line for line in api.state.log if line.startswith('POST')] == posts, 'the second run created again'

    config = tmp_path / 'digitalocean.yml'
    shutil.copy(os.path.join(ROOT, 'inventories', 'fleet', 'digitalocean.yml'), str(config))
    with open(str(config), 'a') as handle:
        handle.write('baseurl: http://127.0.0.1:%d/v2\n' % api.server_address[1])
    proc = subprocess.run([os.path.join(BIN, 'ansible-inventory'), '-i', str(config), '--list'], capture_output=True, text=True,
                          env=env(), cwd=ROOT, timeout=120, check=False)
    inv = json.loads(proc.stdout)
    assert sorted(inv.get('gpu_nodes', {}).get('hosts', [])) == ['gpu-a', 'gpu-b'], proc.stdout + proc.stderr
    assert inv['size_gpu_h100x1_80gb']['hosts'] == ['gpu-a'] and inv['region_nyc2']['hosts'] == ['gpu-b'], sorted(inv)
    host = inv['_meta']['hostvars']['gpu-a']
    assert 'do-test-token' not in proc.stdout + proc.stderr
    assert json.dumps(host).count('127.0.0.1') >= 1

    rc, out = playbook('teardown.yml', api, {'droplet_list': LIST})
    assert rc == 0, out
    assert api.state.droplets == {}


def test_bad_input_fails_before_any_api_call(api):
    rc, out = playbook('provision.yml', api, {'droplet_list': [{'name': 'x', 'size': 'gpu-h900x1'}]})
    assert rc != 0 and 'droplet_list size=gpu-h900x1 is not a GPU size slug' in out and 'gpu-6000adax1-48gb' in out
    rc, out = playbook('provision.yml', api, {'droplet_list': LIST}, token=None)
    assert rc != 0 and 'no DigitalOcean token: set DO_API_TOKEN or DIGITALOCEAN_TOKEN' in out
    assert api.state.log == []
    rc, out = playbook('provision.yml', api, {'provider': 'aws'})
    assert rc != 0 and 'provider=aws must be digitalocean or runpod' in out


def test_api_errors_and_ssh_timeout_leave_nothing(api):
    rc, out = playbook('provision.yml', api, {'droplet_list': LIST[:1]}, token='wrong')
    assert rc != 0 and 'Failed to login using API token' in out and 'token=wrong' not in out
    closed = socket.socket()
    closed.bind(('127.0.0.1', 0))
    port = closed.getsockname()[1]
    closed.close()
    rc, out = playbook('provision.yml', api, {'droplet_list': LIST[:1], 'droplet_ssh_port': port, 'droplet_ssh_timeout': 2})
    assert rc != 0 and 'did not answer on SSH port %d within 2 s' % port in out, out[-3000:]
    assert 'was destroyed' in out
    assert api.state.droplets == {}
