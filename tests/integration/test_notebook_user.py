"""Guide 002's job (a notebook lab: pip vLLM, `vllm serve RedHatAI/Llama-3.2-1B-Instruct-FP8 --port 8000`, curl) done with
the collection by a user without root, with the settings of its page's inventory (docs/guides/002-notebook-lab.md, read
from the page): deploy.yml with the process runtime and a supervisord of the user's own (vllm_server_supervisor_dir),
then the guide's curl, a second run that changes nothing, and remove.yml.

The node is this machine; the modules run as an unprivileged user (`jovyan`, as in Jupyter images; become from the
test's root with su, modules on Debian's /usr/bin/python3). What is real: the role, supervisord (installed by the role
with pip into the user's virtualenv, as the node lacks it: this needs PyPI or the machine's pip mirror), its socket,
configuration and logs in the user's folder, the program it runs. What is not: `vllm` in the virtualenv is the OpenAI
test double (tests/doubles/vllm_openai_double.py, named so), standing in for pip's vLLM, and nvidia-smi the nvidia-smi
double (one H100)."""
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import urllib.request

import pytest

import badinput

ROOT = badinput.ROOT
USER = 'jovyan'
DOUBLE = os.path.join(ROOT, 'tests', 'doubles', 'vllm_openai_double.py')


def free_port():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def notebook():
    """The user, a home of its own (a folder every step can reach) and its virtualenv holding the vLLM double."""
    if os.geteuid() != 0 or not os.path.exists('/usr/bin/python3'):
        pytest.skip('needs root (to make the user) and Debian\'s python3')
    made = False
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(['useradd', '--no-create-home', '--shell', '/bin/bash', USER], check=True)
        made = True
    home = tempfile.mkdtemp(prefix='inferops-notebook-', dir='/var/tmp')
    os.chmod(home, 0o755)
    venv = os.path.join(home, 'app-root')  # the page's /opt/app-root: the notebook's environment, its src/ the user's files
    shutil.copy(DOUBLE, os.path.join(home, 'vllm_openai_double.py'))
    subprocess.run(['chown', '-R', USER, home], check=True)
    subprocess.run(['runuser', '-u', USER, '--', '/usr/bin/python3', '-m', 'venv', venv], check=True, cwd=home)
    with open(os.path.join(venv, 'bin', 'vllm'), 'w') as handle:
        handle.write('#!/bin/sh\n# The vLLM OpenAI test double standing in for pip\'s vLLM.\nexec %s/bin/python3 %s/vllm_openai_double.py "$@"\n'
                     % (venv, home))
    os.chmod(os.path.join(venv, 'bin', 'vllm'), 0o755)
    # The nvidia-smi double, on Debian's python3 (the user cannot run the test's).
    os.makedirs(os.path.join(home, 'bin'))
    with open(os.path.join(home, 'bin', 'nvidia-smi'), 'w') as handle:
        handle.write('#!/bin/sh\nexec /usr/bin/python3 %s "$@"\n' % os.path.join(ROOT, 'tests', 'doubles', 'nvidia_smi_double.py'))
    os.chmod(os.path.join(home, 'bin', 'nvidia-smi'), 0o755)
    subprocess.run(['chown', '-R', USER, home], check=True)
    yield home
    pidfile = os.path.join(home, 'app-root', 'src', 'inferops', 'supervisor', 'supervisord.pid')
    if os.path.exists(pidfile):
        try:
            os.kill(int(open(pidfile).read().strip()), signal.SIGTERM)
        except (ValueError, OSError):
            pass
    shutil.rmtree(home, ignore_errors=True)
    if made:
        subprocess.run(['userdel', USER], check=False)


PAGE = os.path.join(ROOT, 'docs', 'guides', '002-notebook-lab.md')


def page_settings(home, port):
    """The settings of the page's inventory (docs/guides/002-notebook-lab.md, as a user copies it), with the bed's
    substitutions: the notebook's environment (/opt/app-root) is the test user's folder, the port one the kernel gave
    (guide 004's test may hold 8000 at the same time), the GPU is the nvidia-smi double's."""
    import yaml  # pylint: disable=import-outside-toplevel
    with open(PAGE) as handle:
        block = re.search(r'^```yaml\n(.*?)^```', handle.read(), re.M | re.S).group(1)
    settings = yaml.safe_load(block)['all']['children']['gpu_nodes']['vars']
    assert settings['vllm_server_venv'] == '/opt/app-root' and settings['vllm_server_port'] == 8000, 'the page changed'
    settings = json.loads(json.dumps(settings).replace('/opt/app-root', os.path.join(home, 'app-root')))
    settings.update(vllm_server_port=port, vllm_server_name='lab-vllm', vllm_server_health_timeout=120,
                    vllm_server_nvidia_smi=os.path.join(home, 'bin', 'nvidia-smi'))
    return settings


def run(playbook, home, port, check=False):
    inventory = {'gpu_nodes': {'hosts': {'notebook': {
        'ansible_connection': 'local', 'ansible_python_interpreter': '/usr/bin/python3',
        'ansible_become': True, 'ansible_become_method': 'su', 'ansible_become_user': USER,
        # A login shell: the user's own PATH, not the test's (whose virtualenv the user cannot run).
        'ansible_become_flags': '-l'}}}}
    settings = page_settings(home, port)
    inv = os.path.join(home, 'inventory.json')
    with open(inv, 'w') as handle:
        json.dump(inventory, handle)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'), INFEROPS_REPORT_DIR=os.path.join(home, 'reports'),
               ANSIBLE_REMOTE_TMP='/tmp/.ansible-%s' % USER)
    cmd = [os.path.join(os.path.dirname(badinput.sys.executable), 'ansible-playbook'), '-i', inv, '-e', json.dumps(settings),
           os.path.join(ROOT, 'playbooks', playbook)] + (['--check'] if check else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_a_user_without_root_deploys_checks_and_removes_the_guides_server(notebook):
    home, port = notebook, free_port()
    system_supervisor = os.path.exists('/etc/supervisor')
    rc, out = run('deploy.yml', home, port)
    assert rc == 0, out[-4000:]
    # The guide's curl: the model is listed, a completion answers.
    models = json.load(urllib.request.urlopen('http://127.0.0.1:%d/v1/models' % port, timeout=10))
    assert [m['id'] for m in models['data']] == ['RedHatAI/Llama-3.2-1B-Instruct-FP8']  # the page's served name
    # supervisord was installed into the user's virtualenv, runs as the user, and keeps every file in the user's folder.
    sup = os.path.join(home, 'app-root', 'src', 'inferops', 'supervisor')
    assert os.path.exists(os.path.join(home, 'app-root', 'bin', 'supervisord'))
    pid = int(open(os.path.join(sup, 'supervisord.pid')).read().strip())
    assert subprocess.run(['ps', '-o', 'user=', '-p', str(pid)], capture_output=True, text=True, check=True).stdout.strip() == USER
    for name in ('supervisord.conf', 'supervisor.sock', 'supervisord.log', 'conf.d/lab-vllm.conf'):
        assert os.path.exists(os.path.join(sup, name)), name
    assert os.path.exists('/etc/supervisor') == system_supervisor  # nothing written to the system's
    program = open(os.path.join(sup, 'conf.d', 'lab-vllm.conf')).read()
    assert 'RedHatAI/Llama-3.2-1B-Instruct-FP8' in program and '--port=%d' % port in program

    rc, out = run('deploy.yml', home, port)
    assert rc == 0 and 'changed=0' in out, out[-3000:]

    rc, out = run('remove.yml', home, port)
    assert rc == 0, out[-3000:]
    with pytest.raises(OSError):
        urllib.request.urlopen('http://127.0.0.1:%d/v1/models' % port, timeout=5)
    assert not os.path.exists(os.path.join(sup, 'conf.d', 'lab-vllm.conf'))
