# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

"""Judging a GPU node's preflight observations (controller side).

Shared by the gpu_host_checks filters and the gpu_host_check action; pure Python plus
prometheus_client for dcgm-exporter's text.
"""

import re

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator


GIB = 1024 ** 3


def version_tuple(text):
    """'580.159.04' -> (580, 159, 4); raises ValueError on anything else."""
    if not re.match(r'^\d+(\.\d+)*$', str(text or '').strip()):
        raise ValueError('not a dotted version: %r' % (text,))
    return tuple(int(p) for p in str(text).strip().split('.'))


def check(name, status, message, found=None, expected=None):
    return {'check': name, 'status': status, 'message': message, 'found': found, 'expected': expected}


def _gpu_checks(nvidia, exp):
    out = []
    if not nvidia.get('ok'):
        out.append(check('nvidia_smi', 'fail', nvidia.get('msg', 'nvidia-smi did not answer'),
                         nvidia.get('reason'), 'nvidia-smi answering with the NVIDIA driver loaded'))
        for name in ('gpu_count', 'gpu_model', 'gpu_memory', 'driver_version', 'cuda_version', 'persistence_mode',
                     'ecc_uncorrected', 'pending_retirement', 'mig_mode', 'foreign_processes'):
            out.append(check(name, 'skip', 'not checked: nvidia-smi did not answer'))
        return out
    gpus = nvidia.get('gpus') or []
    out.append(check('nvidia_smi', 'ok', 'nvidia-smi answered (driver %s, CUDA %s)' % (
        nvidia.get('driver_version'), nvidia.get('cuda_version')), nvidia.get('executable'), 'nvidia-smi answering'))

    count = len(gpus)
    want = int(exp['expected_gpu_count'])
    out.append(check('gpu_count', 'ok' if count >= want else 'fail',
                     '%d GPU(s) found, at least %d expected' % (count, want), count, want))

    pattern = exp['gpu_model_pattern']
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError('gpu_model_pattern=%r is not a valid regular expression: %s' % (pattern, exc))
    names = sorted(set(g.get('name') or '' for g in gpus))
    if pattern:
        bad = [n for n in names if not re.search(pattern, n)]
        out.append(check('gpu_model', 'fail' if bad or not names else 'ok',
                         'GPU model(s) %s; expected to match /%s/' % (', '.join(names) or 'none', pattern), names, pattern))
    else:
        out.append(check('gpu_model', 'ok', 'GPU model(s) %s (no pattern required)' % (', '.join(names) or 'none'), names))

    min_mem = int(exp['min_gpu_memory_mib'])
    mems = [g.get('memory_total_mib') for g in gpus]
    low = [g['index'] for g in gpus if (g.get('memory_total_mib') or 0) < min_mem]
    out.append(check('gpu_memory', 'fail' if low else 'ok',
                     'memory per GPU %s MiB; at least %d MiB expected%s' % (
                         sorted(set(mems)), min_mem, ' (GPU %s below)' % low if low else ''), mems, min_mem))

    for key, label in (('driver_version', 'driver'), ('cuda_version', 'CUDA')):
        found, minimum = nvidia.get(key), exp['min_%s' % key]
        if not minimum:
            out.append(check(key, 'ok', '%s %s (no minimum set)' % (label, found), found))
        elif found is None:
            out.append(check(key, 'fail', '%s version unknown; at least %s expected' % (label, minimum), found, minimum))
        else:
            good = version_tuple(found) >= version_tuple(minimum)
            out.append(check(key, 'ok' if good else 'fail',
                             '%s %s; at least %s expected' % (label, found, minimum), found, minimum))

    off = [g['index'] for g in gpus if g.get('persistence_mode') is False]
    severity = exp['persistence_mode']
    status = 'ok' if not off or severity == 'ignore' else severity
    out.append(check('persistence_mode', status, 'persistence mode off on GPU %s; on expected' % off if off
                     else 'persistence mode on for every GPU', not off, True))

    ecc = dict((g['index'], g.get('ecc_errors_uncorrected_volatile_total')) for g in gpus)
    bad = dict((i, n) for i, n in ecc.items() if n)
    out.append(check('ecc_uncorrected', 'fail' if bad else 'ok',
                     'uncorrected volatile ECC errors %s; 0 expected' % bad if bad
                     else 'no uncorrected volatile ECC errors', ecc, 0))

    pending = [g['index'] for g in gpus if g.get('retired_pages_pending') or g.get('remapped_rows_pending')]
    failed_remap = [g['index'] for g in gpus if g.get('remapped_rows_failure')]
    out.append(check('pending_retirement', 'fail' if pending or failed_remap else 'ok',
                     'GPU %s have retired pages or remapped rows pending (reset needed)%s' % (
                         pending, '; row remapping failed on GPU %s' % failed_remap if failed_remap else '')
                     if pending or failed_remap else 'no retired pages or remapped rows pending',
                     {'pending': pending, 'remap_failed': failed_remap}, []))

    mig_want = exp['mig_mode']
    mig = dict((g['index'], g.get('mig_mode_current')) for g in gpus)
    if mig_want == 'any':
        out.append(check('mig_mode', 'ok', 'MIG mode %s (any accepted)' % mig, mig, mig_want))
    else:
        wrong = [i for i, m in mig.items() if (m is True) != (mig_want == 'enabled') and m is not None]
        out.append(check('mig_mode', 'fail' if wrong else 'ok',
                         'MIG mode %s on GPU %s; %s expected' % ('enabled' if mig_want == 'disabled' else 'disabled',
                                                                 wrong, mig_want)
                         if wrong else 'MIG mode %s as expected' % mig_want, mig, mig_want))

    if exp['no_foreign_processes']:
        procs = [dict(p, gpu=g['index']) for g in gpus for p in g.get('processes') or []]
        out.append(check('foreign_processes', 'fail' if procs else 'ok',
                         '%d process(es) on the GPUs before deploy: %s' % (
                             len(procs), ', '.join('%s (pid %s, GPU %s)' % (p['process_name'], p['pid'], p['gpu'])
                                                   for p in procs))
                         if procs else 'no processes on the GPUs', procs, []))
    return out


def dcgm_series(text, metrics):
    """{metric: set of gpu labels} from dcgm-exporter's Prometheus text."""
    try:  # imported where it is used: it costs ~0.1 s per worker
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:  # pragma: no cover - reported when the filter runs
        raise ValueError('gpu_host_checks needs prometheus_client on the controller (pip install prometheus-client)')
    found = dict((m, set()) for m in metrics)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in found:
                found[sample.name].add(sample.labels.get('gpu', sample.labels.get('UUID')))
    return found


def dcgm_checks(dcgm, nvidia, exp):
    """dcgm-exporter's service and metrics checks (the host setup's plan reads them too)."""
    if not exp['dcgm_exporter']:
        return [check('dcgm_exporter_service', 'skip', 'not asked for'),
                check('dcgm_exporter_metrics', 'skip', 'not asked for')]
    out = []
    state = dcgm.get('unit_state')
    if not dcgm.get('systemd'):
        out.append(check('dcgm_exporter_service', 'skip', 'no systemd on this host; unit %s not checked' % dcgm.get('unit')))
    else:
        out.append(check('dcgm_exporter_service', 'ok' if state == 'active' else 'fail',
                         'systemd unit %s is %s; active expected' % (dcgm.get('unit'), state), state, 'active'))
    url = dcgm.get('url')
    if dcgm.get('metrics_text') is None:
        out.append(check('dcgm_exporter_metrics', 'fail', 'metrics endpoint %s did not answer (%s)' % (
            url, dcgm.get('error') or 'HTTP %s' % dcgm.get('status')), dcgm.get('error'), url))
        return out
    try:
        series = dcgm_series(dcgm['metrics_text'], exp['dcgm_exporter_metrics'])
    except ValueError as exc:
        out.append(check('dcgm_exporter_metrics', 'fail', 'metrics at %s are not Prometheus text: %s' % (url, exc)))
        return out
    gpus = [str(g['index']) for g in nvidia.get('gpus') or []] if nvidia.get('ok') else []
    missing = {}
    for metric, labels in series.items():
        want = gpus or (['any GPU'] if not labels else [])
        lack = [g for g in want if g not in labels]
        if lack:
            missing[metric] = lack
    found = dict((m, sorted(str(x) for x in v)) for m, v in series.items())
    out.append(check('dcgm_exporter_metrics', 'fail' if missing else 'ok',
                     '%s lacks %s' % (url, '; '.join('%s for GPU %s' % (m, ', '.join(g)) for m, g in missing.items()))
                     if missing else '%s carries %s for GPU %s' % (url, ', '.join(exp['dcgm_exporter_metrics']), ', '.join(gpus) or '(any)'),
                     found, exp['dcgm_exporter_metrics']))
    return out


def _container_check(container, exp):
    engine = exp['container_engine']
    if engine == 'none':
        return check('container_runtime', 'skip', 'no container engine expected (container_engine=none)')
    specs = [s for s in container.get('cdi_specs') or [] if s.get('kind') == 'nvidia.com/gpu' and s.get('devices')]
    cdi = ', '.join('%s (%s)' % (s['path'], ', '.join(s['devices'])) for s in specs)
    reasons = []
    for name in (('docker', 'podman') if engine == 'any' else (engine,)):
        facts = container.get(name) or {}
        if not facts.get('present'):
            reasons.append('%s not installed' % name)
            continue
        if facts.get('error'):
            reasons.append('%s does not answer: %s' % (name, facts['error']))
            continue
        if exp['accelerator'] == 'cpu':
            return check('container_runtime', 'ok', '%s %s (CPU node: no GPU runtime needed)' % (name, facts.get('version')),
                         {'engine': name}, 'a container engine')
        if name == 'docker' and 'nvidia' in facts.get('runtimes', []):
            return check('container_runtime', 'ok', 'docker %s with the nvidia runtime' % facts.get('version'),
                         {'engine': 'docker', 'runtimes': facts['runtimes']}, 'nvidia runtime or CDI spec')
        if specs:
            return check('container_runtime', 'ok', '%s %s with CDI spec %s' % (name, facts.get('version'), cdi),
                         {'engine': name, 'cdi': [s['path'] for s in specs]}, 'nvidia runtime or CDI spec')
        reasons.append('%s %s has no nvidia runtime (runtimes: %s) and no CDI spec lists nvidia.com/gpu' % (
            name, facts.get('version'), ', '.join(facts.get('runtimes') or []) or 'none'))
    return check('container_runtime', 'fail', '; '.join(reasons) + '; expected %s able to give containers GPUs' % (
        'docker or podman' if engine == 'any' else engine), reasons, 'nvidia runtime or CDI spec')


def _storage_checks(storage, exp):
    cache = storage.get('model_cache') or {}
    free = cache.get('free_bytes')
    want = float(exp['min_model_cache_free_gb'])
    out = [check('model_cache_disk', 'fail' if free is None or free < want * GIB else 'ok',
                 '%s GiB free at %s (for %s); at least %s GiB expected' % (
                     'unknown' if free is None else round(free / GIB, 1), cache.get('measured_path'), cache.get('path'),
                     want), None if free is None else round(free / GIB, 2), want)]
    shm = (storage.get('shm') or {}).get('size_bytes')
    want_shm = float(exp['min_shm_gb'])
    out.append(check('shm_size', 'fail' if shm is None or shm < want_shm * GIB else 'ok',
                     '/dev/shm is %s GiB; at least %s GiB expected' % (
                         'absent' if shm is None else round(shm / GIB, 2), want_shm),
                     None if shm is None else round(shm / GIB, 2), want_shm))
    return out


# What puts a failing check right: the host setup role's variables (playbooks/setup.yml), or why nothing here does.
FIXES = {
    'container_runtime': 'playbooks/setup.yml sets this up (gpu_host_setup_container_engines, gpu_host_setup_toolkit, '
                         'gpu_host_setup_install_engines)',
    'dcgm_exporter_service': 'playbooks/setup.yml sets this up (gpu_host_setup_dcgm_exporter)',
    'dcgm_exporter_metrics': 'playbooks/setup.yml sets this up (gpu_host_setup_dcgm_exporter)',
    'persistence_mode': 'playbooks/setup.yml sets this up (gpu_host_setup_persistence)',
    'nvidia_smi': 'the NVIDIA driver is not installed by this collection (gpu_host_setup stops without it)',
}


def gpu_host_checks(info, settings):
    """The checks of one node: info is gpu_host_info's result, settings every setting (settings_problems found none)."""
    if not isinstance(info, dict) or 'nvidia' not in info:
        raise ValueError('gpu_host_checks expects the registered result of inferops.gpu_inference.gpu_host_info')
    exp = settings
    nvidia = info.get('nvidia') or {}
    os_facts = info.get('os') or {}
    out = [check('os', 'ok', '%s, kernel %s' % (os_facts.get('pretty_name'), os_facts.get('kernel')), os_facts)]
    if exp['accelerator'] == 'cpu':
        out.append(check('gpus', 'skip', 'CPU node (accelerator=cpu): GPU, driver and dcgm-exporter checks skipped'))
    else:
        out.extend(_gpu_checks(nvidia, exp))
        out.extend(dcgm_checks(info.get('dcgm_exporter') or {}, nvidia, exp))
    out.append(_container_check(info.get('container') or {}, exp))
    out.extend(_storage_checks(info.get('storage') or {}, exp))
    if exp['do_agent']:
        agent = info.get('do_agent') or {}
        state = agent.get('unit_state')
        out.append(check('do_agent', 'ok' if state == 'active' else 'warn',
                         'do-agent is %s; active expected for DigitalOcean monitoring' % (state or 'not running under systemd'),
                         state, 'active'))
    for item in out:
        if item['status'] in ('fail', 'warn') and item['check'] in FIXES:
            item['message'] += ' [fix: %s]' % FIXES[item['check']]
    return out


def gather_args(settings):
    """What gpu_host_info is asked to read on the node, from the settings."""
    gpu = settings['accelerator'] != 'cpu'
    dcgm = gpu and settings['dcgm_exporter']
    engine = settings['container_engine']
    return {
        'nvidia_smi': settings['nvidia_smi'],
        'processes': bool(settings['no_foreign_processes']),
        'dcgm_exporter_unit': settings['dcgm_exporter_unit'],
        'dcgm_exporter_url': 'http://%s:%s/metrics' % (settings['dcgm_exporter_host'], settings['dcgm_exporter_port']) if dcgm else '',
        'dcgm_exporter_metrics': list(settings['dcgm_exporter_metrics']) if dcgm else [],
        'model_cache_path': settings['model_cache_path'],
        'container_engines': ['docker', 'podman'] if engine in ('any', 'none') else [engine],
        'do_agent': bool(settings['do_agent']),
    }


def checks_summary(checks):
    """Counts per status and the names of failing and warning checks."""
    summary = {'ok': 0, 'warn': 0, 'fail': 0, 'skip': 0}
    for item in checks:
        summary[item['status']] = summary.get(item['status'], 0) + 1
    summary['failed'] = [c['check'] for c in checks if c['status'] == 'fail']
    summary['warned'] = [c['check'] for c in checks if c['status'] == 'warn']
    return summary


def check_line(item):
    """One check as a line: 'dcgm_exporter_metrics: FAIL ...'."""
    return '%s: %s %s' % (item['check'], item['status'].upper(), item['message'])


VERSION_RE = re.compile(r'^[0-9]+(\.[0-9]+)*$')


def _number(value, kind):
    try:
        return kind(value)
    except (TypeError, ValueError):
        return None


def settings_problems(settings, options, prefix=''):
    """What is wrong with a preflight's settings, one phrase per setting, naming it as prefix + key.

    The settings are the role's variables less the prefix; options is the role's argument spec
    (meta/argument_specs.yml, the one home of their names, types and choices), checked here in
    the action's own task, so the preflight needs no separate validation task. Then what a
    spec cannot say: ranges, dotted versions, the regular expression.
    """
    names = [name[len(prefix):] for name in options]
    problems = []
    missing = [key for key in names if key not in settings]
    unknown = sorted(set(settings) - set(names))
    if missing:
        problems.append('missing setting(s) %s' % ', '.join(prefix + key for key in missing))
    if unknown:
        problems.append('unknown setting(s) %s; allowed: %s' % (', '.join(prefix + key for key in unknown), ', '.join(names)))
    spec = dict((name, dict((k, v) for k, v in option.items() if k in ('type', 'choices', 'elements')))
                for name, option in options.items())
    given = dict((prefix + key, value) for key, value in settings.items() if prefix + key in spec)
    for error in ArgumentSpecValidator(spec).validate(given).errors:
        # The spec's messages name the variable and what is allowed; the value is added where they do not show it.
        text = error.args[0] if error.args else str(error)
        name = next((n for n in given if "'%s'" % n in text), None)
        problems.append(text if name is None or 'got:' in text else '%s (got %r)' % (text, given[name]))

    def bad(name, text):
        problems.append('%s%s=%s %s' % (prefix, name, settings.get(name), text))

    for name, kind in (('expected_gpu_count', int), ('min_gpu_memory_mib', int),
                       ('min_model_cache_free_gb', float), ('min_shm_gb', float)):
        if name in settings:
            value = _number(settings[name], kind)
            if value is not None and value < 0:
                bad(name, 'must be 0 or more')
    if 'dcgm_exporter_port' in settings:
        port = _number(settings['dcgm_exporter_port'], int)
        if port is not None and not 1 <= port <= 65535:
            bad('dcgm_exporter_port', 'must be a port from 1 to 65535')
    for name, example in (('min_driver_version', '550.54.15'), ('min_cuda_version', '12.4')):
        value = settings.get(name)
        if value not in (None, '') and not VERSION_RE.match(str(value)):
            bad(name, 'must be a dotted version such as %s' % example)
    pattern = settings.get('gpu_model_pattern')
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            bad('gpu_model_pattern', 'is not a regular expression (%s)' % exc)
    return problems
