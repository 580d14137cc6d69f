"""Check mode of the playbooks that make things: it says what it would do, makes, writes and runs nothing, and exits 0
when nothing else is wrong.

* playbooks/bench.yml --check: the node is this machine (local connection, the bad-input battery's settings: runner
  local), its `vllm` a stand-in that records any call; no benchmark may run, no folder and no report may be made, no
  SLO gate may fail, and no report may be named as written.
* playbooks/provision.yml --check (DigitalOcean): community.digitalocean's module against the DigitalOcean API double
  (tests/doubles/digitalocean_api_double.py on loopback), one droplet already there and one to make: nothing is
  created (no POST), and each droplet is said to be kept or to be created. teardown.yml --check deletes nothing.
"""
import json
import os
import subprocess
import sys
import threading
import urllib.request

import pytest

import badinput
from test_digitalocean import BIN, ROOT, digitalocean_api_double, env as do_env

STAND_IN = '#!/bin/sh\necho "$@" >> %s\nexit 0\n'


def test_bench_check_mode_says_what_would_run_and_runs_writes_and_fails_nothing(tmp_path):
    case_dir = str(tmp_path / 'case')
    os.makedirs(case_dir)
    calls = str(tmp_path / 'vllm-calls')
    vllm = str(tmp_path / 'vllm')
    with open(vllm, 'w') as handle:
        handle.write(STAND_IN % calls)
    os.chmod(vllm, 0o755)
    extra = dict(badinput.bench_vars(case_dir), vllm_bench_vllm=vllm)
    rc, out = badinput.run_playbook('bench.yml', case_dir, extra, badinput.inventory(case_dir), options=('--check',))
    assert rc == 0, out[-4000:]
    flat = ' '.join(out.split())
    assert 'check mode: would run %s bench serve' % vllm in flat, out[-4000:]
    assert '--result-filename single.json' in flat
    assert 'check mode: no benchmark ran on 1 host(s) and no report is written' in flat
    assert 'SLO gate(s) missed' not in out and 'Benchmark report:' not in out
    assert not os.path.exists(calls), 'vllm ran in check mode: %s' % open(calls).read()
    assert badinput.files_under(case_dir) == [], 'check mode wrote files'
    assert not [s for s in badinput.SECRETS if s in out], 'a canary secret was printed'


def do_playbook(name, api, extra, options=()):
    extra = dict({'provider': 'digitalocean', 'droplet_api_url': 'http://127.0.0.1:%d/v2' % api.server_address[1],
                  'droplet_wait_timeout': 30}, **extra)
    cmd = [os.path.join(BIN, 'ansible-playbook')] + list(options) + [
        '-i', 'localhost,', '-c', 'local', '-e', 'ansible_python_interpreter=' + sys.executable, '-e', json.dumps(extra),
        os.path.join(ROOT, 'playbooks', name)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=do_env(), cwd=ROOT, timeout=300, check=False)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture()
def api():
    server = digitalocean_api_double.make_server(provision_reads=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def test_provision_check_mode_on_digitalocean_creates_nothing_and_says_what_it_would(api, ssh_port):
    existing = {'name': 'gpu-a', 'size': 'gpu-h100x1-80gb', 'region': 'tor1'}
    new = {'name': 'gpu-b', 'size': 'gpu-l40sx1-48gb', 'region': 'nyc2'}
    # gpu-a is there already (made through the double's API as the module would make it).
    request = urllib.request.Request('http://127.0.0.1:%d/v2/droplets' % api.server_address[1], method='POST',
                                     data=json.dumps(dict(existing, image='gpu-h100x1-base')).encode(),
                                     headers={'Authorization': 'Bearer do-test-token', 'Content-Type': 'application/json'})
    assert urllib.request.urlopen(request, timeout=10).status == 202
    writes = [line for line in api.state.log if not line.startswith('GET')]

    rc, out = do_playbook('provision.yml', api, {'droplet_list': [existing, new], 'droplet_ssh_port': ssh_port}, options=('--check',))
    assert rc == 0, out[-4000:]
    flat = ' '.join(out.split())
    assert 'has no attribute' not in out and 'Task failed' not in out, out[-4000:]
    assert 'check mode: droplet gpu-a exists and is kept' in flat, out[-4000:]
    assert 'check mode: droplet gpu-b would be created (size gpu-l40sx1-48gb, region nyc2, image gpu-h100x1-base)' in flat
    assert [line for line in api.state.log if not line.startswith('GET')] == writes, 'check mode wrote to the API'
    assert sorted(d['name'] for d in api.state.droplets.values()) == ['gpu-a']

    rc, out = do_playbook('teardown.yml', api, {'droplet_list': [existing, new]}, options=('--check',))
    assert rc == 0, out[-4000:]
    assert [line for line in api.state.log if not line.startswith('GET')] == writes, 'check mode deleted'
