"""Build the bed's apt repository of TEST DOUBLES, signed with a key of its own (no GPU, no NVIDIA here).

    tests/bed/apt_doubles.py OUTDIR

OUTDIR becomes a flat apt repository (the layout of NVIDIA's own toolkit repository: Packages,
Release and its signature InRelease at the top, the packages beside them) and gpgkey, the armored
public key that signs it (as https://nvidia.github.io/libnvidia-container/gpgkey serves NVIDIA's).
Served over HTTP, it stands in for NVIDIA's repositories so that apt, dpkg and systemd are real:

* nvidia-container-toolkit: nvidia-ctk (tests/doubles/nvidia_ctk_double.py: writes dockerd's runtime
  configuration and CDI specs from nvidia-smi's GPUs), nvidia-container-runtime (runc with nothing
  added, as the real one adds only what a GPU needs) and nvidia-container-runtime-hook (the hook double);
* datacenter-gpu-manager-exporter: dcgm-exporter (tests/doubles/dcgm_exporter_double.py, one series per
  GPU that nvidia-smi lists) and its systemd unit, dcgm-exporter.service, not enabled (the role enables it).

Every package's description says it is a double. A new key is made each time (the repository is
built for one test run); nothing here is ever published.
"""
import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DOUBLES = os.path.join(HERE, '..', 'doubles')

PACKAGES = {
    'nvidia-container-toolkit': {
        'version': '1.17.8-1',
        'depends': 'python3, runc',
        'description': 'NVIDIA Container Toolkit (inferops TEST DOUBLE: nvidia-ctk, runtime and hook doubles)',
        'files': {
            'usr/bin/nvidia-ctk': ('double', 'nvidia_ctk_double.py'),
            'usr/bin/nvidia-container-runtime-hook': ('double', 'nvidia_container_runtime_hook_double.py'),
            'usr/bin/nvidia-container-runtime': ('text', '#!/bin/sh\n# inferops TEST DOUBLE: runc, nothing added.\nexec runc "$@"\n'),
        },
    },
    'datacenter-gpu-manager-exporter': {
        'version': '4.1.3-1',
        'depends': 'python3',
        'description': 'DCGM Exporter (inferops TEST DOUBLE: Prometheus text for the GPUs nvidia-smi lists)',
        'files': {
            'usr/share/dcgm-exporter-double/dcgm_exporter_double.py': ('double', 'dcgm_exporter_double.py'),
            'usr/bin/dcgm-exporter': ('text', '#!/bin/sh\n'
                                      '# inferops TEST DOUBLE of dcgm-exporter: -a [HOST]:PORT as the real one takes it.\n'
                                      'address=:9400\n'
                                      'while [ $# -gt 0 ]; do case $1 in -a|--address) address=$2; shift;; esac; shift; done\n'
                                      'host=${address%:*}; port=${address##*:}\n'
                                      'gpus=$(nvidia-smi --query-gpu=index --format=csv,noheader | wc -l)\n'
                                      'exec python3 /usr/share/dcgm-exporter-double/dcgm_exporter_double.py '
                                      '--bind "${host:-0.0.0.0}" --port "$port" --gpus "$gpus"\n'),
            'lib/systemd/system/dcgm-exporter.service': ('text', '[Unit]\nDescription=NVIDIA DCGM Exporter (inferops TEST DOUBLE)\n'
                                                         'After=network-online.target\n\n[Service]\n'
                                                         'ExecStart=/usr/bin/dcgm-exporter -a 127.0.0.1:9400\n'
                                                         'Restart=on-failure\n\n[Install]\nWantedBy=multi-user.target\n'),
        },
    },
}


def run(*argv, **kwargs):
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kwargs).stdout


def build_package(name, spec, out, work):
    root = os.path.join(work, name)
    os.makedirs(os.path.join(root, 'DEBIAN'))
    for path, (kind, value) in spec['files'].items():
        dest = os.path.join(root, path)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if kind == 'double':
            shutil.copyfile(os.path.join(DOUBLES, value), dest)
        else:
            with open(dest, 'w') as handle:
                handle.write(value)
        os.chmod(dest, 0o644 if path.endswith(('.service', '.py')) and not path.startswith('usr/bin') else 0o755)
    with open(os.path.join(root, 'DEBIAN', 'control'), 'w') as handle:
        handle.write('Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: inferops bed <bed@inferops.invalid>\n'
                     'Depends: %s\nDescription: %s\n' % (name, spec['version'], spec['depends'], spec['description']))
    deb = os.path.join(out, '%s_%s_all.deb' % (name, spec['version']))
    run('dpkg-deb', '--root-owner-group', '-Zgzip', '--build', root, deb)
    return deb


def stanza(deb):
    control = run('dpkg-deb', '-f', deb).rstrip('\n')
    data = open(deb, 'rb').read()
    return '%s\nFilename: ./%s\nSize: %d\nMD5sum: %s\nSHA256: %s\n' % (
        control, os.path.basename(deb), len(data), hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest())


def main(out):
    if shutil.which('gpg') is None:
        subprocess.run(['apt-get', 'install', '-y', '-qq', 'gpg'], check=True)
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp(prefix='inferops-apt-doubles.')
    try:
        debs = [build_package(name, spec, out, work) for name, spec in sorted(PACKAGES.items())]
        packages = '\n'.join(stanza(deb) for deb in debs)
        with open(os.path.join(out, 'Packages'), 'w') as handle:
            handle.write(packages)
        with gzip.open(os.path.join(out, 'Packages.gz'), 'wt') as handle:
            handle.write(packages)
        lines = ['Origin: inferops-bed', 'Label: inferops apt doubles (TEST DOUBLES of NVIDIA packages)',
                 'Date: %s' % time.strftime('%a, %d %b %Y %H:%M:%S UTC', time.gmtime()), 'SHA256:']
        for name in ('Packages', 'Packages.gz'):
            data = open(os.path.join(out, name), 'rb').read()
            lines.append(' %s %d %s' % (hashlib.sha256(data).hexdigest(), len(data), name))
        with open(os.path.join(out, 'Release'), 'w') as handle:
            handle.write('\n'.join(lines) + '\n')
        home = os.path.join(work, 'gnupg')
        os.makedirs(home, mode=0o700)
        gpg = ['gpg', '--homedir', home, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '']
        run(*gpg + ['--quick-gen-key', 'inferops bed apt doubles <bed@inferops.invalid>', 'ed25519', 'sign', 'never'])
        run(*gpg + ['--yes', '--clearsign', '-o', os.path.join(out, 'InRelease'), os.path.join(out, 'Release')])
        run(*gpg + ['--yes', '--armor', '--export', '-o', os.path.join(out, 'gpgkey')])
    finally:
        subprocess.run(['gpgconf', '--homedir', os.path.join(work, 'gnupg'), '--kill', 'all'], check=False, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    print(out)


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
