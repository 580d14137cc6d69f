# -*- coding: utf-8 -*-
# Copyright: inferops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules across the settings of the role gpu_host_setup, and what it has to do on one node.

``problems(settings, context, entry_point)`` returns one message per broken rule, naming the variable, its value and
what is allowed; the role gets them from the lookup ``inferops.gpu_inference.role_problems`` once, before any change.
Repository and key URLs end up in an apt sources file and package names on apt's command line, so both are held to
what those accept (no spaces, no line breaks, no options).

``plan(info, settings)`` (the filter ``gpu_host_setup_plan``) reads the node as the preflight's module
``gpu_host_info`` saw it and says what the setup must change: the engines to install, dockerd's runtime to add and
whether dockerd must restart (and the containers that forbid it), the CDI spec to write again, the GPUs whose
persistence mode is off, and the problems that stop the run before any change.
"""
from __future__ import annotations

from ansible_collections.inferops.gpu_inference.plugins.module_utils.addresses import PORT_RULE, is_address, is_ip, port_number
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.gpu_host_checks import dcgm_checks
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.rule_values import (
    as_bool, fullmatch, items_of, not_lists, to_json)

SETTINGS = {
    'main': ('gpu_host_setup_accelerator', 'gpu_host_setup_container_engines', 'gpu_host_setup_install_engines',
             'gpu_host_setup_toolkit', 'gpu_host_setup_toolkit_repo_url', 'gpu_host_setup_toolkit_key_url',
             'gpu_host_setup_toolkit_packages', 'gpu_host_setup_cdi_spec', 'gpu_host_setup_docker_config',
             'gpu_host_setup_dcgm_exporter', 'gpu_host_setup_dcgm_exporter_package', 'gpu_host_setup_dcgm_exporter_unit',
             'gpu_host_setup_dcgm_exporter_repo_url', 'gpu_host_setup_dcgm_exporter_key_url',
             'gpu_host_setup_persistence', 'gpu_host_setup_nvidia_smi', 'gpu_host_setup_folders'),
}
# The preflight's settings the setup also uses: where dcgm-exporter answers (the setup waits for its metrics there).
OPTIONAL = ('gpu_host_check_dcgm_exporter_host', 'gpu_host_check_dcgm_exporter_port')
ENGINES = ('docker', 'podman')
# What an apt sources file takes as a URI: http(s) or file, no spaces or line breaks; apt's own $(ARCH) is kept.
REPO_URL = r'(https?://[A-Za-z0-9._~:/?#@!$&\'()*+,;=%-]+|file:/[A-Za-z0-9._~/%$()-]*)'
# A Debian package name, optionally =version (apt's pinning), never an option.
PACKAGE = r'[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?'
UNIT = r'[A-Za-z0-9:_.@-]+'
PATH = r'/[A-Za-z0-9._/@+-]*'
# The series a running dcgm-exporter must carry for every GPU (read by the plan to find one started before a GPU came).
DCGM_METRICS = ('DCGM_FI_DEV_GPU_UTIL',)


def problems(settings, context=None, entry_point='main'):
    """The rules across settings; ``context`` holds the preflight's dcgm-exporter host and port (OPTIONAL), which the setup
    waits on (``entry_point`` unused: one entry point)."""
    s = settings
    out = not_lists(s, ('gpu_host_setup_container_engines', 'gpu_host_setup_toolkit_packages', 'gpu_host_setup_folders'))
    engines = [str(e) for e in items_of(s['gpu_host_setup_container_engines'])]
    bad = [e for e in engines if e not in ENGINES]
    if bad:
        out.append('gpu_host_setup_container_engines has %s; allowed: docker, podman (or [] for the process runtime)'
                   % ', '.join(to_json(e) for e in bad))
    gpu = s['gpu_host_setup_accelerator'] != 'cpu'
    toolkit = gpu and as_bool(s['gpu_host_setup_toolkit'])
    dcgm_repo = str(s['gpu_host_setup_dcgm_exporter_repo_url'])
    dcgm_package = gpu and s['gpu_host_setup_dcgm_exporter'] == 'package'
    if toolkit or (dcgm_package and dcgm_repo == 'toolkit'):
        for name in ('gpu_host_setup_toolkit_repo_url', 'gpu_host_setup_toolkit_key_url'):
            if not fullmatch(REPO_URL, str(s[name])):
                out.append('%s=%s must be an http(s):// or file:/ URL without spaces' % (name, to_json(s[name])))
    if dcgm_package and dcgm_repo not in ('', 'toolkit'):
        for name in ('gpu_host_setup_dcgm_exporter_repo_url', 'gpu_host_setup_dcgm_exporter_key_url'):
            if not fullmatch(REPO_URL, str(s[name])):
                out.append('%s=%s must be an http(s):// or file:/ URL without spaces (the key is needed with the repository; '
                           'the repository may also be "" for NVIDIA\'s CUDA repository, or toolkit)' % (name, to_json(s[name])))
    packages = [str(p) for p in items_of(s['gpu_host_setup_toolkit_packages'])]
    if toolkit and not packages:
        out.append('gpu_host_setup_toolkit_packages is empty: list nvidia-container-toolkit (or set gpu_host_setup_toolkit: false)')
    if s['gpu_host_setup_dcgm_exporter'] == 'package':
        packages.append(str(s['gpu_host_setup_dcgm_exporter_package']))
    bad = [p for p in packages if not fullmatch(PACKAGE, p)]
    if bad:
        out.append('package name(s) %s must be Debian package names, optionally =version '
                   '(gpu_host_setup_toolkit_packages, gpu_host_setup_dcgm_exporter_package)' % ', '.join(to_json(p) for p in bad))
    if not fullmatch(UNIT, str(s['gpu_host_setup_dcgm_exporter_unit'])):
        out.append('gpu_host_setup_dcgm_exporter_unit=%s must be a systemd unit name' % to_json(s['gpu_host_setup_dcgm_exporter_unit']))
    for name in ('gpu_host_setup_cdi_spec', 'gpu_host_setup_docker_config'):
        if not fullmatch(PATH, str(s[name])):
            out.append('%s=%s must be an absolute path' % (name, to_json(s[name])))
    bad = [f for f in items_of(s['gpu_host_setup_folders']) if not fullmatch(PATH, str(f)) or str(f).rstrip('/') == '']
    if bad:
        out.append('gpu_host_setup_folders has %s; each must be an absolute path below /' % ', '.join(to_json(f) for f in bad))
    context = context or {}
    host, port = context.get('gpu_host_check_dcgm_exporter_host'), context.get('gpu_host_check_dcgm_exporter_port')
    if host is not None and not _url_host(str(host)):
        out.append('gpu_host_check_dcgm_exporter_host=%s must be a host name or an IP address (IPv6 in brackets): the setup '
                   'waits for dcgm-exporter\'s metrics at http://<host>:<port>/metrics' % to_json(host))
    if port is not None and port_number(port) is None:
        out.append('gpu_host_check_dcgm_exporter_port=%s must be %s' % (to_json(port), PORT_RULE))
    return out


def _url_host(text):
    """What goes between http:// and :port in a URL: a host name, an IPv4 address, or an IPv6 one in brackets."""
    if text.startswith('[') and text.endswith(']'):
        return ':' in text and is_ip(text[1:-1])
    return ':' not in text and is_address(text)


# NVIDIA's CUDA repositories (where dcgm-exporter's package is), per distribution and machine; the key file is the
# one the repositories are signed with since 2022.
CUDA_REPOS = 'https://developer.download.nvidia.com/compute/cuda/repos/%s/%s'
CUDA_DISTROS = {('ubuntu', '20.04'): 'ubuntu2004', ('ubuntu', '22.04'): 'ubuntu2204', ('ubuntu', '24.04'): 'ubuntu2404',
                ('debian', '11'): 'debian11', ('debian', '12'): 'debian12'}
CUDA_MACHINES = {'x86_64': 'x86_64', 'aarch64': 'sbsa'}


def cuda_repository(os_facts):
    """NVIDIA's CUDA repository for the node's distribution and machine, or None where NVIDIA has none."""
    distro = CUDA_DISTROS.get((os_facts.get('id'), os_facts.get('version_id')))
    machine = CUDA_MACHINES.get(os_facts.get('machine'))
    if not distro or not machine:
        return None
    url = CUDA_REPOS % (distro, machine)
    return {'name': 'nvidia-cuda', 'url': url, 'key': url + '/3bf863cc.pub'}


def _cdi_names(gpus):
    """The device names `nvidia-ctk cdi generate` gives these GPUs: each index, each UUID, and all."""
    return sorted(set([str(g.get('index')) for g in gpus] + [str(g.get('uuid')) for g in gpus if g.get('uuid')] + ['all']))


def plan(info, settings, running=None):
    """What gpu_host_setup changes on a node, from gpu_host_info's result and the role's settings.

    ``running``: the names of the containers dockerd runs (read only when dockerd must restart).
    """
    if not isinstance(info, dict) or 'container' not in info:
        raise ValueError('gpu_host_setup_plan expects the registered result of inferops.gpu_inference.gpu_host_info')
    s = settings
    gpu = s['gpu_host_setup_accelerator'] != 'cpu'
    toolkit = gpu and as_bool(s['gpu_host_setup_toolkit'])
    engines = [str(e) for e in items_of(s['gpu_host_setup_container_engines'])]
    container = info.get('container') or {}
    nvidia = info.get('nvidia') or {}
    gpus = nvidia.get('gpus') or [] if nvidia.get('ok') else []
    stops = []
    install = [e for e in engines if not (container.get(e) or {}).get('present')]
    if install and not as_bool(s['gpu_host_setup_install_engines']):
        stops.append('%s not installed on the node: set gpu_host_setup_install_engines: true to install it from the '
                     "distribution's packages, or install it yourself" % ' and '.join(install))
    if gpu and not nvidia.get('ok'):
        stops.append('nvidia-smi does not answer (%s): install the NVIDIA driver first (gpu_host_setup does not install '
                     'drivers)' % (nvidia.get('msg') or nvidia.get('reason') or 'no answer'))
    docker = container.get('docker') or {}
    runtime = toolkit and 'docker' in engines and 'nvidia' not in (docker.get('runtimes') or [])
    busy = sorted(running or [])
    if runtime and busy:
        stops.append('dockerd must restart to load the nvidia runtime, but containers run on it: %s. Stop them first '
                     '(playbooks/remove.yml for a vLLM server); nothing was changed' % ', '.join(busy))
    want = _cdi_names(gpus)
    spec = [c for c in container.get('cdi_specs') or [] if c.get('path') == s['gpu_host_setup_cdi_spec']]
    have = sorted(set(str(d) for d in spec[0].get('devices') or [])) if spec else []
    # Written again when a GPU's name is missing, or the spec names a whole GPU (an index, a UUID) that is gone; other
    # names (MIG devices such as 0:1 or MIG-...) are the toolkit's business.
    whole = set(n for n in have if n.isdigit() or n.startswith('GPU-'))
    cdi = toolkit and bool(gpus) and 'podman' in engines and (
        not set(want) <= set(have) or bool(whole - set(want)))
    off = [g.get('index') for g in gpus if g.get('persistence_mode') is False]
    dcgm = info.get('dcgm_exporter') or {}
    dcgm_on = gpu and s['gpu_host_setup_dcgm_exporter'] != 'none'
    # A running dcgm-exporter whose metrics lack a GPU nvidia-smi lists (GPUs added or replaced since it started: it
    # enumerates them at start) is restarted; the preflight's own check says so.
    stale = dcgm_on and dcgm.get('unit_state') == 'active' and dcgm.get('metrics_text') is not None and any(
        c['check'] == 'dcgm_exporter_metrics' and c['status'] == 'fail' for c in dcgm_checks(
            dcgm, nvidia, {'dcgm_exporter': True, 'dcgm_exporter_metrics': list(DCGM_METRICS)}))
    if dcgm_on and not dcgm.get('systemd'):
        stops.append('dcgm-exporter as a service needs systemd on the node, which does not run it: set '
                     'gpu_host_setup_dcgm_exporter: none')
    # The package only where no exporter runs yet (a DigitalOcean GPU image runs its own).
    dcgm_install = dcgm_on and s['gpu_host_setup_dcgm_exporter'] == 'package' and dcgm.get('unit_state') != 'active'
    dcgm_repo = str(s['gpu_host_setup_dcgm_exporter_repo_url'])
    repositories, packages = [], []
    if toolkit or (dcgm_install and dcgm_repo == 'toolkit'):
        repositories.append({'name': 'nvidia-container-toolkit', 'url': s['gpu_host_setup_toolkit_repo_url'],
                             'key': s['gpu_host_setup_toolkit_key_url']})
    if toolkit:
        packages.extend(str(p) for p in items_of(s['gpu_host_setup_toolkit_packages']))
    if dcgm_install:
        packages.append(str(s['gpu_host_setup_dcgm_exporter_package']))
        if dcgm_repo == '':
            os_facts = info.get('os') or {}
            cuda = cuda_repository(os_facts)
            if cuda:
                repositories.append(cuda)
            else:
                stops.append('no CUDA repository of NVIDIA\'s for %s on %s (dcgm-exporter\'s package is there): set '
                             'gpu_host_setup_dcgm_exporter_repo_url and gpu_host_setup_dcgm_exporter_key_url, or '
                             'gpu_host_setup_dcgm_exporter: none' % (os_facts.get('pretty_name'), os_facts.get('machine')))
        elif dcgm_repo != 'toolkit':
            repositories.append({'name': 'nvidia-dcgm-exporter', 'url': dcgm_repo, 'key': s['gpu_host_setup_dcgm_exporter_key_url']})
    return {
        'install_engines': install,
        'docker_runtime': runtime,
        'docker_restart_blocked_by': busy if runtime else [],
        'cdi_generate': cdi,
        'cdi_devices': {'found': have, 'wanted': want},
        'persistence_off': off if gpu and as_bool(s['gpu_host_setup_persistence']) else [],
        'dcgm_exporter': s['gpu_host_setup_dcgm_exporter'] if gpu else 'none',
        'dcgm_exporter_state': dcgm.get('unit_state'),
        'dcgm_exporter_restart': stale,
        'repositories': repositories,
        'packages': packages,
        'gpus': [g.get('index') for g in gpus],
        'stops': stops,
    }
