#!/usr/bin/python3
"""TEST DOUBLE for nvidia-ctk (the NVIDIA Container Toolkit's CLI): no GPU, no driver here.

Packaged as /usr/bin/nvidia-ctk in the bed's nvidia-container-toolkit double (tests/bed/apt_doubles.sh),
it does what the real command does to a host's files, for the commands the host setup role runs:

* ``runtime configure --runtime=docker [--config=PATH]``: adds the ``nvidia`` runtime to dockerd's
  configuration (default /etc/docker/daemon.json; other keys kept, written with 4-space indents as the
  real one writes it), prints the real command's log lines, and leaves the restart to the caller;
  ``--runtime`` other than docker is refused (not replayed);
* ``cdi generate --output=PATH``: writes a CDI spec of kind nvidia.com/gpu with one device per GPU that
  nvidia-smi lists (named by index and by UUID, as the real one names them) and ``all``. The one
  difference: the real spec's device nodes are the GPUs' own /dev/nvidiaN; there are none here, so each
  is backed by /dev/null (hostPath), and the spec carries no driver libraries to mount;
* ``cdi list``: the devices of the specs in /etc/cdi and /var/run/cdi, as ``nvidia.com/gpu=NAME`` lines;
* ``--version``: a version line that says it is this double.
"""
import json
import os
import subprocess
import sys

VERSION = 'NVIDIA Container Toolkit CLI version 1.17.8 (inferops test double)\n'


def option(argv, name, default=None):
    for i, arg in enumerate(argv):
        if arg.startswith(name + '='):
            return arg.split('=', 1)[1]
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
    return default


def log(text):
    sys.stderr.write('INFO[0000] %s\n' % text)


def runtime_configure(argv):
    runtime = option(argv, '--runtime', 'docker')
    if runtime != 'docker':
        sys.stderr.write('nvidia-ctk test double: only --runtime=docker is replayed, not %r\n' % runtime)
        return 2
    path = option(argv, '--config', '/etc/docker/daemon.json')
    config = {}
    if os.path.exists(path) and open(path).read().strip():
        log('Loading config from %s' % path)
        config = json.load(open(path))
    config.setdefault('runtimes', {})['nvidia'] = {'args': [], 'path': 'nvidia-container-runtime'}
    if option(argv, '--set-as-default') is not None or '--set-as-default' in argv:
        config['default-runtime'] = 'nvidia'
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        os.makedirs(folder)
    with open(path, 'w') as handle:
        json.dump(config, handle, indent=4)
    log('Wrote updated config to %s' % path)
    log('It is recommended that docker daemon be restarted.')
    return 0


def gpus():
    out = subprocess.run(['nvidia-smi', '--query-gpu=index,uuid', '--format=csv,noheader'],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.stderr.write('ERRO[0000] failed to generate CDI spec: failed to initialize NVML: %s\n' % out.stdout.strip())
        return None
    return [tuple(c.strip() for c in line.split(',')) for line in out.stdout.splitlines() if line.strip()]


def cdi_generate(argv):
    found = gpus()
    if found is None:
        return 1
    path = option(argv, '--output', '/dev/stdout')

    def nodes(indexes):
        return ''.join('        - path: /dev/nvidia%s\n          hostPath: /dev/null\n' % i for i in indexes)

    lines = ['---\n', '# Written by the nvidia-ctk TEST DOUBLE (device nodes backed by /dev/null: no GPU here).\n',
             'cdiVersion: 0.5.0\n', 'kind: nvidia.com/gpu\n', 'devices:\n']
    for index, uuid in found:
        for name in (index, uuid):
            lines.append('  - name: "%s"\n    containerEdits:\n      deviceNodes:\n%s' % (name, nodes([index])))
    lines.append('  - name: all\n    containerEdits:\n      deviceNodes:\n%s' % nodes([gpu[0] for gpu in found]))
    lines.append('containerEdits:\n  env:\n    - NVIDIA_VISIBLE_DEVICES=void\n')
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        os.makedirs(folder)
    with open(path, 'w') as handle:
        handle.write(''.join(lines))
    log('Generated CDI spec with version 0.5.0')
    return 0


def cdi_list():
    names = []
    for folder in ('/etc/cdi', '/var/run/cdi'):
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            for line in open(os.path.join(folder, name)):
                if line.startswith('  - name:'):
                    names.append('nvidia.com/gpu=%s' % line.split(':', 1)[1].strip().strip('"'))
    log('Found %d CDI devices' % len(names))
    sys.stdout.write(''.join(n + '\n' for n in names))
    return 0


def main(argv):
    if argv[:1] == ['--version']:
        sys.stdout.write(VERSION)
        return 0
    if argv[:2] == ['runtime', 'configure']:
        return runtime_configure(argv[2:])
    if argv[:2] == ['cdi', 'generate']:
        return cdi_generate(argv[2:])
    if argv[:2] == ['cdi', 'list']:
        return cdi_list()
    sys.stderr.write('nvidia-ctk test double: %r is not replayed\n' % (argv,))
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
