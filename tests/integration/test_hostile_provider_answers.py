"""Hostile or broken provider answers: what RunPod's and DigitalOcean's APIs could send, served by the API test doubles
(their ``answer`` and ``patch`` settings), read by the fleet's own inventory files (inventories/fleet/) with real
ansible-inventory runs, and by provision.yml with real ansible-playbook runs.

A bad pod or droplet is left out with one warning naming it, the field and the value (cut short); the good ones
still make hosts; nothing a hostile answer says becomes a host, an ansible_host or an ansible_port; an answer too
large, or pages that never end, fail the source naming it, with a short message; the token is never printed and
the injection canary file is never made.
"""
import json
import os
import shutil
import subprocess
import sys
import threading

import pytest

import badinput
from badinput import PROVIDER_TOKEN, PWNED

sys.path.insert(0, os.path.join(badinput.ROOT, 'tests', 'doubles'))
import digitalocean_api_double  # noqa: E402  pylint: disable=wrong-import-position
import runpod_api_double  # noqa: E402  pylint: disable=wrong-import-position

FLEET = os.path.join(badinput.ROOT, 'inventories', 'fleet')
with open(os.path.join(badinput.ROOT, 'tests', 'unit', 'fixtures', 'runpod', 'pods.json')) as _handle:
    GOOD_POD = json.load(_handle)[0]  # vllm-h100-1, RUNNING, SSH mapped: a real answer's pod
GOOD_DROPLET = {'id': 500000001, 'name': 'gpu-a', 'status': 'active', 'tags': ['gpu'], 'size_slug': 'gpu-h100x1-80gb',
                'region': {'slug': 'tor1', 'name': 'Toronto 1'}, 'vpc_uuid': 'b9e3e2d4-5a1c-4d3e-9f8a-1c2b3d4e5f60',
                'networks': {'v4': [{'ip_address': '127.0.0.1', 'type': 'public'}, {'ip_address': '10.116.0.2', 'type': 'private'}],
                             'v6': []}}
INJECT = '-oProxyCommand=touch {case}/pwned'


def serve(server):
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture()
def runpod_api():
    server = serve(runpod_api_double.make_server(token=PROVIDER_TOKEN))
    yield server
    server.shutdown()


@pytest.fixture()
def do_api():
    server = serve(digitalocean_api_double.make_server(token=PROVIDER_TOKEN))
    yield server
    server.shutdown()


def fill(value, case_dir):
    return badinput.fill(value, case_dir)


def list_inventory(source, case_dir, env):
    """ansible-inventory --list over one of the fleet's inventory files, as users run it (the project's ansible.cfg)."""
    full_env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(badinput.ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
                    ANSIBLE_COLLECTIONS_PATH=os.path.join(badinput.ROOT, '.collections'), **env)
    for key in ('RUNPOD_API_KEY', 'DO_API_TOKEN', 'DIGITALOCEAN_TOKEN'):
        full_env.setdefault(key, '')
    listed = os.path.join(case_dir, '..', 'inventory.json')
    proc = subprocess.run([os.path.join(badinput.BIN, 'ansible-inventory'), '-vvv', '-i', source, '--list', '--output', listed],
                          capture_output=True, text=True, env=full_env, cwd=case_dir, timeout=300, check=False)
    inv = None
    if proc.returncode == 0:
        with open(listed) as handle:
            inv = badinput.plain(json.load(handle))
    return proc.returncode, proc.stdout + proc.stderr, inv


def runpod_inventory(api, case_dir):
    return list_inventory(os.path.join(FLEET, 'runpod.yml'), case_dir,
                          {'RUNPOD_API_KEY': PROVIDER_TOKEN, 'RUNPOD_API_URL': 'http://127.0.0.1:%d/v1' % api.server_address[1]})


def do_inventory(api, case_dir, token=PROVIDER_TOKEN):
    config = os.path.join(case_dir, '..', 'digitalocean.yml')
    shutil.copy(os.path.join(FLEET, 'digitalocean.yml'), config)
    with open(config, 'a') as handle:
        handle.write('baseurl: http://127.0.0.1:%d/v2\n' % api.server_address[1])
    return list_inventory(config, case_dir, {'DO_API_TOKEN': token})


def case_folder(tmp_path):
    case_dir = str(tmp_path / 'case')
    os.makedirs(case_dir)
    return case_dir


def assert_clean(out, case_dir):
    assert PROVIDER_TOKEN not in out, 'the provider token was printed'
    assert not os.path.exists(os.path.join(case_dir, PWNED)), 'an injected command ran'
    assert 'Traceback' not in out and 'Unexpected Exception' not in out, out[-3000:]
    assert max(len(line) for line in out.splitlines() or ['']) < 2000, 'an answer was printed whole'


def assert_left_out(rc, out, inv, good, words, case_dir):
    """The bad item left out with one warning naming its field and value; the good host still made, and no other."""
    assert rc == 0, 'one bad item failed the whole inventory:\n' + out[-3000:]
    flat = ' '.join(out.split())
    assert 'left out' in flat, out[-3000:]
    for word in words:
        assert ' '.join(word.split()) in flat, 'expected %r in:\n%s' % (word, out[-3000:])
    assert sorted(inv['_meta']['hostvars']) == [good], 'a host was made from a hostile answer: %s' % sorted(inv['_meta']['hostvars'])
    assert inv['gpu_nodes']['hosts'] == [good]
    assert_clean(out, case_dir)


def hostile_pod(**fields):
    pod = dict(GOOD_POD, id='zz9hostile9pod', name='hostile-pod')
    pod.update(fields)
    return pod


POD_CASES = [
    ('ip-ssh-option', hostile_pod(publicIp=INJECT), ['publicIp="-oProxyCommand=', 'must be an IPv4 or IPv6 address']),
    ('ip-newline', hostile_pod(publicIp='203.0.113.9\n-oProxyCommand=x'), ['publicIp="203.0.113.9\\n-oProxyCommand=x"']),
    ('ip-host-name', hostile_pod(publicIp='attacker.example'), ['publicIp="attacker.example"']),
    ('ip-number', hostile_pod(publicIp=3405803786), ['publicIp=3405803786']),
    ('name-semicolon', hostile_pod(name='a;touch {case}/pwned'), ['name="a;touch', 'becomes the inventory host name']),
    ('name-dotdot', hostile_pod(name='../../etc/passwd'), ['name="../../etc/passwd"']),
    ('name-newline', hostile_pod(name='pod\ngpu_nodes'), ['name="pod\\ngpu_nodes"']),
    ('name-option', hostile_pod(name='-oProxyCommand=x'), ['name="-oProxyCommand=x"']),
    ('name-localhost', hostile_pod(name='localhost'), ['name="localhost" is a name Ansible reserves']),
    ('name-trailing-newline', hostile_pod(name='evilpod\n'), ['name="evilpod\\n"']),
    ('id-trailing-newline-no-name', hostile_pod(id='abc\n', name=None), ['id="abc\\n"']),
    ('name-address-like', hostile_pod(name='127.1'), ['name="127.1" reads as an address']),
    ('name-config-group', hostile_pod(name='pods'), ['name="pods" is already a host or group']),
    ('ip-metadata-service', hostile_pod(publicIp='169.254.169.254'), ['publicIp="169.254.169.254" is not an address a host is reached at']),
    ('ip-unspecified', hostile_pod(publicIp='0.0.0.0'), ['publicIp="0.0.0.0"']),
    ('ip-v4-mapped', hostile_pod(publicIp='::ffff:127.0.0.1'), ['publicIp="::ffff:127.0.0.1"']),
    ('port-key-twice', hostile_pod(portMappings={'022': 2222, '22': 3333}), ['maps port 22 twice']),
    ('name-all', hostile_pod(name='all'), ['name="all" is a name Ansible reserves']),
    ('name-of-a-group', hostile_pod(name='gpu_nodes'), ['name="gpu_nodes" is already a host or group of the inventory']),
    ('name-huge', hostile_pod(name='n' * 300000), ['name="nnnn', 'n"... must be']),
    ('port-70000', hostile_pod(portMappings={'22': 70000}), ['portMappings.22=70000', 'from 1 to 65535']),
    ('port-zero', hostile_pod(portMappings={'22': 0}), ['portMappings.22=0']),
    ('port-text', hostile_pod(portMappings={'22': 'ssh'}), ['portMappings.22="ssh"']),
    ('port-newline', hostile_pod(portMappings={'22': '10341\n-oProxyCommand=x'}), ['portMappings.22="10341\\n']),
    ('port-bool', hostile_pod(portMappings={'22': True}), ['portMappings.22=true']),
    ('mappings-list', hostile_pod(portMappings=[22, 10341]), ['portMappings=[22, 10341] must be an object']),
    ('gpu-count-text', hostile_pod(gpu={'id': 'NVIDIA H100 80GB HBM3', 'count': '2; reboot', 'displayName': 'H100'}),
     ['gpu.count="2; reboot"']),
    ('gpu-type-newline', hostile_pod(gpu={'id': 'x', 'count': 1, 'displayName': 'H100\nserver evil 1.2.3.4:80'}),
     ['gpu.displayName="H100\\nserver evil']),
    ('id-path', hostile_pod(id='../pods/other'), ['id="../pods/other"']),
    ('status-junk', hostile_pod(desiredStatus={'RUNNING': True}), ['desiredStatus={"RUNNING": true}']),
    ('cost-negative', hostile_pod(costPerHr=-3), ['costPerHr=-3']),
    ('item-string', 'vllm-h100-2', ['an item that is not an object', '"vllm-h100-2"']),
    ('item-null', None, ['an item that is not an object (null)']),
    ('item-list', [GOOD_POD], ['an item that is not an object']),
]


@pytest.mark.parametrize('bad,words', [c[1:] for c in POD_CASES], ids=[c[0] for c in POD_CASES])
def test_runpod_inventory_leaves_a_hostile_pod_out(runpod_api, tmp_path, bad, words):
    case_dir = case_folder(tmp_path)
    runpod_api.state.answer = [GOOD_POD, fill(bad, case_dir)]
    rc, out, inv = runpod_inventory(runpod_api, case_dir)
    assert_left_out(rc, out, inv, 'vllm-h100-1', [fill(w, case_dir) for w in words], case_dir)
    host = inv['_meta']['hostvars']['vllm-h100-1']
    assert (host['ansible_host'], host['ansible_port']) == (GOOD_POD['publicIp'], GOOD_POD['portMappings']['22'])


SOURCE_CASES = [
    ('answer-9-mib', b'[' + b'"x",' * (9 * 1024 * 1024 // 4) + b'"x"]', ['RunPod inventory (http://127.0.0.1', 'longer than 8388608 bytes']),
    ('answer-3-mb-not-json', b'<html>' + b'x' * (3 * 1000 * 1000), ['RunPod inventory (http://127.0.0.1', 'not a list of pods']),
    ('answer-object', {'error': None, 'pods': 'none'}, ['not a list']),
    ('cursor-repeats', {'data': [GOOD_POD], 'nextCursor': 'again'}, ['nextCursor="again" repeats']),
]


@pytest.mark.parametrize('answer,words', [c[1:] for c in SOURCE_CASES], ids=[c[0] for c in SOURCE_CASES])
def test_runpod_inventory_refuses_a_broken_answer_clearly(runpod_api, tmp_path, answer, words):
    case_dir = case_folder(tmp_path)
    runpod_api.state.answer = answer
    rc, out, dummy = runpod_inventory(runpod_api, case_dir)
    assert rc != 0, out[-3000:]
    flat = ' '.join(out.split())
    for word in words:
        assert word in flat, 'expected %r in:\n%s' % (word, out[-3000:])
    assert_clean(out, case_dir)
    assert len(runpod_api.state.log) < 20, 'the pages never ended: %d requests' % len(runpod_api.state.log)


def hostile_droplet(**fields):
    droplet = dict(GOOD_DROPLET, id=500000002, name='gpu-b')
    droplet.update(fields)
    return droplet


def v4(public, private='10.116.0.3'):
    return {'v4': [{'ip_address': public, 'type': 'public'}, {'ip_address': private, 'type': 'private'}], 'v6': []}


DROPLET_CASES = [
    ('ip-ssh-option', hostile_droplet(networks=v4(INJECT)), ['networks.v4[0].ip_address="-oProxyCommand=', 'IPv4 or IPv6']),
    ('private-ip-newline', hostile_droplet(networks=v4('127.0.0.1', '10.0.0.9\n    server evil 192.0.2.1:80')),
     ['networks.v4[1].ip_address="10.0.0.9\\n']),
    ('ip-host-name', hostile_droplet(networks=v4('attacker.example')), ['"attacker.example"']),
    ('networks-string', hostile_droplet(networks='127.0.0.1'), ['networks="127.0.0.1" must be an object']),
    ('network-item-string', hostile_droplet(networks={'v4': ['127.0.0.1'], 'v6': []}), ['networks.v4[0]="127.0.0.1" must be an object']),
    ('name-semicolon', hostile_droplet(name='gpu-b;touch {case}/pwned'), ['name="gpu-b;touch']),
    ('name-dotdot', hostile_droplet(name='../gpu'), ['name="../gpu"']),
    ('name-newline', hostile_droplet(name='gpu-b\nall'), ['name="gpu-b\\nall"']),
    ('name-localhost', hostile_droplet(name='localhost'), ['name="localhost" is a name Ansible reserves']),
    ('name-trailing-newline', hostile_droplet(name='gpu-b\n'), ['name="gpu-b\\n"']),
    ('name-config-group', hostile_droplet(name='droplets'), ['name="droplets" is already a host or group']),
    ('no-public-address', hostile_droplet(networks={'v4': [{'ip_address': '10.116.0.3', 'type': 'private'}], 'v6': []}),
     ['holds no address for ansible_host']),
    ('size-nested-deep', hostile_droplet(size=json.loads('{"a": ' * 300 + '1' + '}' * 300)), ['droplet 1']),
    ('name-twice', hostile_droplet(name='gpu-a'), ['name="gpu-a" is used by an earlier droplet']),
    ('tag-newline', hostile_droplet(tags=['gpu', 'x\ny']), ['tags[1]="x\\ny"']),
    ('size-slug-junk', hostile_droplet(size_slug='gpu h100; reboot'), ['size_slug="gpu h100; reboot"']),
    ('item-string', 'gpu-c', ['an item that is not an object', '"gpu-c"']),
    ('item-number', 42, ['an item that is not an object (42)']),
]


@pytest.mark.parametrize('bad,words', [c[1:] for c in DROPLET_CASES], ids=[c[0] for c in DROPLET_CASES])
def test_digitalocean_inventory_leaves_a_hostile_droplet_out(do_api, tmp_path, bad, words):
    case_dir = case_folder(tmp_path)
    do_api.state.answer = {'droplets': [GOOD_DROPLET, fill(bad, case_dir)], 'links': {}, 'meta': {'total': 2}}
    rc, out, inv = do_inventory(do_api, case_dir)
    assert_left_out(rc, out, inv, 'gpu-a', [fill(w, case_dir) for w in words], case_dir)
    host = inv['_meta']['hostvars']['gpu-a']
    assert (host['ansible_host'], host['do_private_ip']) == ('127.0.0.1', '10.116.0.2')


DO_SOURCE_CASES = [
    ('answer-9-mib', b'{"droplets": [' + b'"x",' * (9 * 1024 * 1024 // 4) + b'"x"]}',
     ['DigitalOcean inventory (http://127.0.0.1', 'longer than 8388608 bytes']),
    ('answer-not-json', b'<html>' + b'x' * 100000, ['the answer is not {"droplets": [...]}']),
    ('next-repeats', {'droplets': [GOOD_DROPLET], 'links': {'pages': {'next': '{self}'}}}, ['repeats: the pages would never end']),
    ('redirect', (302, {'Location': 'http://127.0.0.1:1/steal'}, b''), ['HTTP 302: a redirect, not followed']),
    ('next-elsewhere', {'droplets': [GOOD_DROPLET], 'links': {'pages': {'next': 'http://127.0.0.1:1/v2/droplets?page=2'}}},
     ['links.pages.next="http://127.0.0.1:1/v2/droplets?page=2" is not on the API\'s own host and port']),
]


@pytest.mark.parametrize('answer,words', [c[1:] for c in DO_SOURCE_CASES], ids=[c[0] for c in DO_SOURCE_CASES])
def test_digitalocean_inventory_refuses_a_broken_answer_clearly(do_api, tmp_path, answer, words):
    case_dir = case_folder(tmp_path)
    self_url = 'http://127.0.0.1:%d/v2/droplets?per_page=200' % do_api.server_address[1]
    do_api.state.answer = json.loads(json.dumps(answer).replace('{self}', self_url)) if isinstance(answer, dict) else answer
    rc, out, dummy = do_inventory(do_api, case_dir)
    assert rc != 0, out[-3000:]
    flat = ' '.join(out.split())
    for word in words:
        assert word in flat, 'expected %r in:\n%s' % (word, out[-3000:])
    assert_clean(out, case_dir)


RUNPOD_POD = {'name': 'pod-a', 'gpu_type': 'NVIDIA H100 80GB HBM3', 'image': 'docker.io/runpod/pytorch:2.4.0',
              'ports': ['8000/http', '22/tcp'], 'secret_env': {'HF_TOKEN': badinput.HF_TOKEN}}


@pytest.mark.parametrize('patch,words', [
    ({'publicIp': INJECT}, ['RunPod answered for pod pod-a with publicIp="-oProxyCommand=', 'not used']),
    ({'portMappings': {'22': 70000, '8000': 10001}}, ['portMappings.22=70000']),
], ids=['ip-ssh-option', 'port-70000'])
def test_provision_adds_no_host_from_a_hostile_pod_answer(runpod_api, tmp_path, patch, words):
    """runpod_pod reads the pod's answer after it made the pod: a hostile one fails the item; provision.yml adds no host."""
    case_dir = case_folder(tmp_path)
    runpod_api.state.patch = fill(patch, case_dir)
    extra = {'provider': 'runpod', 'runpod_api_url': 'http://127.0.0.1:%d/v1' % runpod_api.server_address[1],
             'runpod_pods': [dict(RUNPOD_POD, wait_timeout=5)]}
    rc, out = badinput.run_playbook('provision.yml', case_dir, extra, badinput.inventory(case_dir), env={'RUNPOD_API_KEY': PROVIDER_TOKEN})
    flat = ' '.join(out.split())
    assert rc != 0, out[-3000:]
    for word in words:
        assert fill(word, case_dir) in flat, 'expected %r in:\n%s' % (word, out[-3000:])
    assert 'TASK [Add the pods to the inventory]' not in out or 'changed: [localhost] => (item=' not in out.split('Add the pods')[1]
    assert [s for s in badinput.SECRETS if s in out] == [], 'a canary secret was printed'
    assert not os.path.exists(os.path.join(case_dir, PWNED))


def test_provision_adds_no_host_from_a_hostile_droplet_answer(do_api, tmp_path):
    """The droplet role reads the created droplet's networks: a hostile address fails before wait_for and add_host."""
    case_dir = case_folder(tmp_path)
    do_api.state.options.provision_reads = 0
    do_api.state.patch = {'networks': v4(fill(INJECT, case_dir))}
    extra = {'provider': 'digitalocean', 'droplet_api_url': 'http://127.0.0.1:%d/v2' % do_api.server_address[1],
             'droplet_list': [{'name': 'gpu-a', 'size': 'gpu-h100x1-80gb', 'region': 'tor1'}], 'droplet_wait_timeout': 30,
             'droplet_ssh_timeout': 2}
    rc, out = badinput.run_playbook('provision.yml', case_dir, extra, badinput.inventory(case_dir), env={'DO_API_TOKEN': PROVIDER_TOKEN})
    flat = ' '.join(out.split())
    assert rc != 0, out[-3000:]
    assert 'DigitalOcean answered for droplet gpu-a with networks.v4[0].ip_address="-oProxyCommand=' in flat, out[-3000:]
    assert 'TASK [inferops.gpu_inference.droplet : Wait until SSH answers' not in out, 'the hostile address was used'
    assert [s for s in badinput.SECRETS if s in out] == [], 'a canary secret was printed'
    assert not os.path.exists(os.path.join(case_dir, PWNED))


@pytest.mark.parametrize('source', ['runpod', 'digitalocean'])
def test_a_token_with_a_newline_is_refused_without_printing_it(runpod_api, do_api, tmp_path, source):
    case_dir = case_folder(tmp_path)
    token = PROVIDER_TOKEN + '\n'
    if source == 'runpod':
        rc, out, dummy = list_inventory(os.path.join(FLEET, 'runpod.yml'), case_dir, {
            'RUNPOD_API_KEY': token, 'RUNPOD_API_URL': 'http://127.0.0.1:%d/v1' % runpod_api.server_address[1]})
    else:
        rc, out, dummy = do_inventory(do_api, case_dir, token)
    assert rc != 0 and 'holds whitespace or control characters' in out, out[-3000:]
    assert_clean(out, case_dir)


def test_an_item_named_like_a_keyed_group_a_later_item_makes_leaves_only_itself_out(runpod_api, do_api, tmp_path):
    """The configurations' keyed groups (gpus_<count>, size_<slug>) are made by the items listed after the one that takes
    their name: that one is left out once they exist, naming itself, and the others are hosts."""
    case_dir = case_folder(tmp_path)
    count = GOOD_POD['gpu']['count']
    runpod_api.state.answer = [hostile_pod(name='gpus_%d' % count, gpu=dict(GOOD_POD['gpu'], count=count + 1)), GOOD_POD]
    rc, out, inv = runpod_inventory(runpod_api, case_dir)
    assert_left_out(rc, out, inv, 'vllm-h100-1', ['name="gpus_%d" is also the name of a group' % count], case_dir)
    do_api.state.answer = {'droplets': [hostile_droplet(name='size_gpu_h100x1_80gb', size_slug='gpu-h100x8-640gb'), GOOD_DROPLET],
                           'links': {}}
    rc, out, inv = do_inventory(do_api, case_dir)
    assert_left_out(rc, out, inv, 'gpu-a', ['name="size_gpu_h100x1_80gb" is also the name of a group'], case_dir)


@pytest.mark.parametrize('provider,name', [('runpod', 'pods'), ('runpod', 'gpu_nodes'), ('digitalocean', 'droplets'),
                                           ('digitalocean', 'gpu_nodes')])
def test_an_item_named_like_a_group_of_the_configuration_listed_first_leaves_only_itself_out(runpod_api, do_api, tmp_path,
                                                                                             provider, name):
    """A name the configuration makes a group of (groups:, the plugin's group) given to the first item: that item is left
    out, the others are hosts (it failed the whole source: "can't add group to itself")."""
    case_dir = case_folder(tmp_path)
    if provider == 'runpod':
        runpod_api.state.answer = [hostile_pod(name=name), GOOD_POD]
        rc, out, inv = runpod_inventory(runpod_api, case_dir)
        good = 'vllm-h100-1'
    else:
        do_api.state.answer = {'droplets': [hostile_droplet(name=name), GOOD_DROPLET], 'links': {}}
        rc, out, inv = do_inventory(do_api, case_dir)
        good = 'gpu-a'
    assert_left_out(rc, out, inv, good, ['name="%s"' % name], case_dir)
