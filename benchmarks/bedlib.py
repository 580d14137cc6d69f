"""What the benchmark scripts share: commands, node containers, the server's /health and start.

Imported by the scripts in this folder (run as `.venv/bin/python benchmarks/<script>.py`
from the repository root, so this folder is on sys.path).
"""
import datetime
import http.client
import os
import subprocess
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
NODE_IMAGE = 'inferops/node:bookworm'
# The CPU bed's vLLM server settings, in their one home (also read by make demo and linked into
# the Molecule scenarios' inventories).
CPU_BED = os.path.join(ROOT, 'inventories', 'local', 'group_vars', 'gpu_nodes', 'cpu_bed.yml')


def bed_server_vars(**overrides):
    """The CPU bed's vllm_server_* settings (image, model, served name, length, flags), with overrides."""
    with open(CPU_BED) as handle:
        settings = yaml.safe_load(handle)
    settings.update(overrides)
    return settings


def bed_server_argv():
    """The same server for a bare `docker run`, after its options: image, model and vLLM's flags."""
    bed = bed_server_vars()
    return [bed['vllm_server_image'], bed['vllm_server_model'], '--served-model-name', bed['vllm_server_served_model_name'],
            '--max-model-len', str(bed['vllm_server_max_model_len'])] + list(bed['vllm_server_extra_args'])


def setup(bed=True):
    """Set up what `make demo` / `make test` set up and the benchmarks need, so that they also run
    after `make clean` or on a fresh machine: the collection link (and the Docker engine and test
    images, which `make bed` builds once and reuses while their inputs are unchanged)."""
    subprocess.run(['make', '-s', 'collection'] + (['bed'] if bed else []), cwd=ROOT, check=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def ansible_env(**extra):
    """The environment for ansible and ansible-playbook runs from this checkout's virtualenv."""
    bindir = os.path.dirname(sys.executable)
    return dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
                ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'),
                PATH=bindir + os.pathsep + os.environ['PATH'], **extra)


def start_host_nodes(names, label, volumes=()):
    """Node containers sharing the host's network and docker engine (the role's containers run beside them)."""
    for name in names:
        cmd = ['docker', 'run', '-d', '--name', name, '--label', label, '--network', 'host',
               '-v', '/var/run/docker.sock:/var/run/docker.sock', '-v', '/usr/bin/docker:/usr/bin/docker:ro']
        for volume in volumes:
            cmd += ['-v', volume.format(name=name)]
        sh(cmd + [NODE_IMAGE, 'sleep', 'infinity'])


def remove_containers(label=None, name_prefix=None):
    ids = []
    if label:
        ids += sh(['docker', 'ps', '-aq', '--filter', 'label=' + label]).stdout.split()
    if name_prefix:
        ids += sh(['docker', 'ps', '-aq', '--filter', 'name=' + name_prefix]).stdout.split()
    if ids:
        subprocess.run(['docker', 'rm', '-f'] + ids, check=False, capture_output=True)


def health_ok(port):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=1)
    try:
        conn.request('GET', '/health')
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def started_at(name):
    """The container's own start (docker inspect State.StartedAt), as a Unix time."""
    out = sh(['docker', 'inspect', '--format', '{{.State.StartedAt}}', name]).stdout.strip()
    # 2026-11-22T07:11:00.123456789Z -> microseconds
    head, frac = out.rstrip('Z').split('.')
    stamp = datetime.datetime.strptime(head, '%Y-%m-%dT%H:%M:%S').replace(tzinfo=datetime.timezone.utc)
    return stamp.timestamp() + float('0.' + frac[:6])
