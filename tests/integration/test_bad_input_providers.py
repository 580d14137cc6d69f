"""Bad input to playbooks/provision.yml (DigitalOcean droplets through role droplet; RunPod pods through runpod_pod)
and to the runpod_pod module itself: rejected before any write to the provider API (the API test doubles record every
request), the message naming the variable, the value and what is allowed; the canary token and secret_env values
never printed, also when a pod fails in provision.yml's loop. The harness: badinput.py."""
import json
import os
import subprocess
import sys
import threading

import pytest

import badinput
from badinput import API_KEY, HF_TOKEN, PROVIDER_TOKEN, fill

sys.path.insert(0, os.path.join(badinput.ROOT, 'tests', 'doubles'))
import digitalocean_api_double  # noqa: E402  pylint: disable=wrong-import-position
import runpod_api_double  # noqa: E402  pylint: disable=wrong-import-position


def serve(server):
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture()
def do_api():
    server = serve(digitalocean_api_double.make_server(token=PROVIDER_TOKEN))
    yield server
    server.shutdown()


@pytest.fixture()
def runpod_api():
    server = serve(runpod_api_double.make_server(token=PROVIDER_TOKEN))
    yield server
    server.shutdown()


def writes(api):
    return [line for line in api.state.log if not line.startswith('GET')]


DROPLET = {'name': 'gpu-a', 'size': 'gpu-h100x1-80gb', 'region': 'tor1'}
DO_CASES = [
    ('name-underscore', [dict(DROPLET, name='gpu_a')], {}, ['droplet_list name(s) "gpu_a" must be host names']),
    ('name-space', [dict(DROPLET, name='gpu a')], {}, ['"gpu a"']),
    ('name-injection', [dict(DROPLET, name='x;touch {case}/pwned')], {}, ['must be host names']),
    ('name-missing', [{'size': 'gpu-h100x1-80gb'}], {}, ['every droplet_list item needs a name']),
    ('names-twice', [DROPLET, DROPLET], {}, ['droplet_list names must be unique']),
    ('region-typo', [dict(DROPLET, region='toronto')], {}, ['droplet_list region(s) "toronto" must be region slugs']),
    ('region-upper', [dict(DROPLET, region='NYC1')], {}, ['"NYC1"']),
    ('region-default-bad', [DROPLET | {}], {'droplet_default_region': 'tor 1'}, []),
    ('size-typo', [dict(DROPLET, size='gpu-h100-80gb')], {}, ['size=gpu-h100-80gb is not a GPU size slug']),
    ('image-space', [dict(DROPLET, image='ubuntu 22')], {}, ['image slugs or ids', '"ubuntu 22"']),
    ('unknown-key', [dict(DROPLET, regoin='tor1')], {}, ['droplet_list has unknown key(s) regoin']),
    ('tag-space', [dict(DROPLET, tags=['my tag'])], {}, ['droplet tags "my tag"']),
    ('ssh-port-zero', [DROPLET], {'droplet_ssh_port': 0}, ['droplet_ssh_port=0 must be a port from 1 to 65535']),
    ('ssh-port-big', [DROPLET], {'droplet_ssh_port': 70000}, ['droplet_ssh_port=70000']),
    ('ssh-user-bad', [DROPLET], {'droplet_ssh_user': 'root; touch {case}/pwned'}, ['droplet_ssh_user=']),
    ('item-not-dict', ['gpu-a'], {}, ['droplet_list']),
    ('no-token', [DROPLET], {'_no_token': True}, ['no DigitalOcean token']),
]
DO_CASES[7] = ('region-default-bad', [{'name': 'gpu-a', 'size': 'gpu-h100x1-80gb'}], {'droplet_default_region': 'tor 1'},
               ['"tor 1"'])


def case_folder(tmp_path):
    case_dir = str(tmp_path / 'case')
    os.makedirs(case_dir)
    return case_dir


@pytest.mark.parametrize('droplets,settings,words', [c[1:] for c in DO_CASES], ids=[c[0] for c in DO_CASES])
def test_provision_digitalocean_rejects_before_any_api_write(do_api, tmp_path, droplets, settings, words):
    case_dir = case_folder(tmp_path)
    settings = dict(settings)
    token = None if settings.pop('_no_token', False) else PROVIDER_TOKEN
    extra = dict({'provider': 'digitalocean', 'droplet_api_url': 'http://127.0.0.1:%d/v2' % do_api.server_address[1],
                  'droplet_list': fill(droplets, case_dir), 'droplet_wait_timeout': 5, 'droplet_ssh_timeout': 5},
                 **fill(settings, case_dir))
    env = {'DO_API_TOKEN': token} if token else {'DO_API_TOKEN': '', 'DIGITALOCEAN_TOKEN': ''}
    rc, out = badinput.run_playbook('provision.yml', case_dir, extra, badinput.inventory(case_dir), env=env)
    badinput.check_rejected(rc, out, [fill(w, case_dir) for w in words], case_dir, None, writes(do_api))
    assert do_api.state.log == [], 'the API was called before the settings were checked: %s' % do_api.state.log


POD = {'name': 'pod-a', 'gpu_type': 'NVIDIA H100 80GB HBM3', 'image': 'docker.io/runpod/pytorch:2.4.0',
       'secret_env': {'HF_TOKEN': HF_TOKEN}}
RUNPOD_CASES = [
    ('no-gpu-type', [{'name': 'pod-a', 'secret_env': {'HF_TOKEN': HF_TOKEN}}], ['runpod_pods[0].gpu_type is missing']),
    ('port-no-protocol', [dict(POD, ports=['8000', '22/tcp'])], ['runpod_pods[0].ports item "8000" must be PORT/http or PORT/tcp']),
    ('port-bad-protocol', [dict(POD, ports=['8000/ftp'])], ['"8000/ftp"']),
    ('port-out-of-range', [dict(POD, ports=['70000/http'])], ['"70000/http"']),
    ('port-twice', [dict(POD, ports=['8000/http', '8000/tcp'])], ['lists a port twice']),
    ('cloud-type-typo', [dict(POD, cloud_type='CHEAP')], ['runpod_pods[0].cloud_type="CHEAP" must be one of SECURE, COMMUNITY, ALL']),
    ('token-in-env', [dict(POD, env={'HF_TOKEN': HF_TOKEN}, secret_env={})],
     ['runpod_pods[0].env names HF_TOKEN look like secrets', 'secret_env']),
    ('api-key-in-env', [dict(POD, env={'VLLM_API_KEY': API_KEY})], ['env names VLLM_API_KEY']),
    ('env-name-bad', [dict(POD, env={'MY VAR': '1'})], ['runpod_pods[0].env names ["MY VAR"]']),
    ('gpu-count-zero', [dict(POD, gpu_count=0)], ['runpod_pods[0].gpu_count=0 must be a whole number of 1 or more']),
    ('disk-zero', [dict(POD, container_disk_gb=0)], ['runpod_pods[0].container_disk_gb=0']),
    ('volume-negative', [dict(POD, volume_gb=-1)], ['runpod_pods[0].volume_gb=-1']),
    ('name-space', [dict(POD, name='pod a')], ['runpod_pods[0].name="pod a"']),
    ('name-missing', [dict((k, v) for k, v in POD.items() if k != 'name')], ['runpod_pods[0].name=null']),
    ('names-twice', [POD, POD], ['runpod_pods[1].name="pod-a" is used twice']),
    ('unknown-key', [dict(POD, gpu_typ='x')], ['runpod_pods[0] has unknown key(s) gpu_typ']),
    ('second-pod-bad', [POD, dict(POD, name='pod-b', ports=['8000'])], ['runpod_pods[1].ports item "8000"']),
    ('not-a-dict', ['pod-a'], ['runpod_pods[0] must be a dictionary']),
]


@pytest.mark.parametrize('pods,words', [c[1:] for c in RUNPOD_CASES], ids=[c[0] for c in RUNPOD_CASES])
def test_provision_runpod_rejects_before_any_api_call(runpod_api, tmp_path, pods, words):
    case_dir = case_folder(tmp_path)
    extra = {'provider': 'runpod', 'runpod_api_url': 'http://127.0.0.1:%d/v1' % runpod_api.server_address[1],
             'runpod_pods': pods}
    rc, out = badinput.run_playbook('provision.yml', case_dir, extra, badinput.inventory(case_dir),
                                    env={'RUNPOD_API_KEY': PROVIDER_TOKEN})
    badinput.check_rejected(rc, out, words, case_dir, None, writes(runpod_api))
    assert runpod_api.state.log == [], 'the API was called before the settings were checked: %s' % runpod_api.state.log


def test_a_pod_failing_in_the_loop_prints_no_secret_env(runpod_api, tmp_path):
    """The API refuses the pod (the double's fail_create): the failing loop item shows its name, not secret_env."""
    runpod_api.state.options.fail_create = 'no-capacity'
    case_dir = case_folder(tmp_path)
    extra = {'provider': 'runpod', 'runpod_api_url': 'http://127.0.0.1:%d/v1' % runpod_api.server_address[1],
             'runpod_pods': [POD]}
    rc, out = badinput.run_playbook('provision.yml', case_dir, extra, badinput.inventory(case_dir),
                                    env={'RUNPOD_API_KEY': PROVIDER_TOKEN})
    assert rc != 0 and 'pod-a' in out, out[-3000:]
    assert [s for s in badinput.SECRETS if s in out] == [], 'a canary secret was printed'
    assert any(line.startswith('POST') for line in runpod_api.state.log), 'the create was not even tried'


MODULE_CASES = [
    ('module-token-in-env', {'name': 'pod-a', 'image': 'i:1', 'gpu_type': 'g', 'env': {'HF_TOKEN': HF_TOKEN}},
     ['env names HF_TOKEN look like secrets']),
    ('module-port-no-protocol', {'name': 'pod-a', 'image': 'i:1', 'gpu_type': 'g', 'ports': ['8000']}, ['ports item "8000"']),
    ('module-name-injection', {'name': 'a;touch {case}/pwned', 'state': 'absent'}, ['name="a;touch']),
]


@pytest.mark.parametrize('args,words', [c[1:] for c in MODULE_CASES], ids=[c[0] for c in MODULE_CASES])
def test_runpod_pod_module_rejects_before_any_api_call(runpod_api, tmp_path, args, words):
    case_dir = case_folder(tmp_path)
    args = dict(fill(args, case_dir), api_url='http://127.0.0.1:%d/v1' % runpod_api.server_address[1])
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(badinput.ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(badinput.ROOT, '.collections'), RUNPOD_API_KEY=PROVIDER_TOKEN)
    proc = subprocess.run([os.path.join(badinput.BIN, 'ansible'), 'localhost', '-vvv', '-c', 'local',
                           '-e', 'ansible_python_interpreter=' + sys.executable, '-m', 'inferops.gpu_inference.runpod_pod',
                           '-a', json.dumps(args)], capture_output=True, text=True, env=env, cwd=badinput.ROOT,
                          timeout=300, check=False)
    out = proc.stdout + proc.stderr
    badinput.check_rejected(proc.returncode, out, [fill(w, case_dir) for w in words], case_dir, None, writes(runpod_api))
    assert runpod_api.state.log == []


TEARDOWN_CASES = [
    ('teardown-name-missing', [{'secret_env': {'HF_TOKEN': HF_TOKEN}}], ['runpod_pods names must be']),
    ('teardown-name-injection', [{'name': 'a; touch x', 'secret_env': {'HF_TOKEN': HF_TOKEN}}], ['"a; touch x"']),
]


@pytest.mark.parametrize('pods,words', [c[1:] for c in TEARDOWN_CASES], ids=[c[0] for c in TEARDOWN_CASES])
def test_teardown_runpod_rejects_before_any_api_call(runpod_api, tmp_path, pods, words):
    case_dir = case_folder(tmp_path)
    extra = {'provider': 'runpod', 'runpod_api_url': 'http://127.0.0.1:%d/v1' % runpod_api.server_address[1],
             'runpod_pods': pods}
    rc, out = badinput.run_playbook('teardown.yml', case_dir, extra, badinput.inventory(case_dir),
                                    env={'RUNPOD_API_KEY': PROVIDER_TOKEN})
    badinput.check_rejected(rc, out, words, case_dir, None, writes(runpod_api))
    assert runpod_api.state.log == []
