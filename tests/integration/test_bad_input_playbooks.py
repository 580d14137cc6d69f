"""Bad input every playbook checks in its first play, before any host or provider is touched: a host selection that
matches nothing (inferops_hosts, with or without --limit), a report folder that cannot be written
($INFEROPS_REPORT_DIR a file), a baseline that is not a results.json. Each case asserts the exit, the message, that
nothing changed (no file, no container, no report, no -latest link moved) and that no canary secret is printed.
The harness: badinput.py."""
import os

import pytest

import badinput
from badinput import fill

NVIDIA = {'NVIDIA_SMI_DOUBLE_PROFILE': '{"gpus": 2}'}


def settings_for(playbook, case_dir):
    if playbook in ('bench.yml', 'capacity.yml'):
        return badinput.bench_vars(case_dir)
    if playbook == 'gateway.yml':
        return {'vllm_gateway_config': os.path.join(case_dir, 'haproxy.cfg'), 'vllm_gateway_listen_port': 18970,
                'vllm_gateway_socket': os.path.join(case_dir, 'run', 'admin.sock')}
    return dict(badinput.node_vars(case_dir), redeploy_preflight=False)


def run(tmp_path, playbook, settings=None, env=None, options=('-vvv',)):
    case_dir = str(tmp_path / 'case')
    os.makedirs(case_dir)
    results = str(tmp_path / 'not-json.json')
    with open(results, 'w') as handle:
        handle.write('<html>a proxy error page, not a results.json</html>\n')
    extra = dict(settings_for(playbook, case_dir), **fill(settings or {}, case_dir, results))
    report_file = str(tmp_path / 'reports-is-a-file')
    with open(report_file, 'w') as handle:
        handle.write('x')
    env = dict(NVIDIA, **dict((k, fill(v, case_dir).replace('{report_file}', report_file)) for k, v in (env or {}).items()))
    inv = badinput.inventory(case_dir, hostvars={'vllm_server_port': 18999}, groups={'vllm_gateways': ['gw1']})
    before = badinput.containers()
    rc, out = badinput.run_playbook(playbook, case_dir, extra, inv, env=env, options=options)
    return case_dir, before, rc, out


SELECTION = [
    ('preflight-nomatch', 'preflight.yml', {'inferops_hosts': 'gpu_nodse'}, (), ['inferops_hosts="gpu_nodse" matches no host']),
    ('deploy-nomatch', 'deploy.yml', {'inferops_hosts': 'node9'}, (), ['inferops_hosts="node9" matches no host']),
    ('bench-nomatch', 'bench.yml', {'inferops_hosts': 'nodes'}, (), ['inferops_hosts="nodes" matches no host']),
    ('capacity-nomatch', 'capacity.yml', {'inferops_hosts': 'gpu-nodes'}, (), ['inferops_hosts="gpu-nodes" matches no host']),
    ('redeploy-nomatch', 'redeploy.yml', {'inferops_hosts': 'node2'}, (), ['inferops_hosts="node2" matches no host']),
    ('gateway-nomatch', 'gateway.yml', {'inferops_hosts': 'gateways'}, (), ['inferops_hosts="gateways" matches no host']),
    ('preflight-limit-outside', 'preflight.yml', {'inferops_hosts': 'node1'}, ('--limit', 'gw1'),
     ['inferops_hosts="node1" with --limit "gw1" matches no host']),
    ('preflight-blank', 'preflight.yml', {'inferops_hosts': ','}, (), ['inferops_hosts="," must be a host pattern']),
    ('gateway-blank', 'gateway.yml', {'inferops_hosts': ' '}, (), ['inferops_hosts=" " must be a host pattern']),
    ('capacity-check-mode-nomatch', 'capacity.yml', {'inferops_hosts': 'typo'}, ('--check',), ['inferops_hosts="typo" matches no host']),
]


@pytest.mark.parametrize('playbook,settings,options,words', [c[1:] for c in SELECTION], ids=[c[0] for c in SELECTION])
def test_a_selection_that_matches_nothing_stops_the_run(tmp_path, playbook, settings, options, words):
    case_dir, before, rc, out = run(tmp_path, playbook, settings, options=('-vvv',) + options)
    badinput.check_rejected(rc, out, words, case_dir, before)
    assert not os.path.exists(os.path.join(case_dir, 'reports')), 'a report was written for no host'


REPORTS = [
    ('preflight-report-dir-file', 'preflight.yml', {}, ['INFEROPS_REPORT_DIR=', 'is not a folder']),
    ('bench-report-dir-file', 'bench.yml', {}, ['INFEROPS_REPORT_DIR=', 'is not a folder']),
    ('capacity-report-dir-file', 'capacity.yml', {}, ['INFEROPS_REPORT_DIR=', 'is not a folder']),
    ('redeploy-report-dir-file', 'redeploy.yml', {}, ['INFEROPS_REPORT_DIR=', 'is not a folder']),
    ('redeploy-baseline-not-json', 'redeploy.yml', {'redeploy_max_ttft_rise': 0.2, 'redeploy_perf_baseline': '{results}'},
     ['redeploy_perf_baseline=', 'cannot be read as JSON']),
    ('redeploy-baseline-missing', 'redeploy.yml', {'redeploy_max_ttft_rise': 0.2, 'redeploy_perf_baseline': '/nonexistent/results.json'},
     ['redeploy_perf_baseline="/nonexistent/results.json" is not a file on the controller']),
    ('bench-baseline-not-json', 'bench.yml', {'vllm_bench_baseline': '{results}', 'vllm_bench_gate_throughput_factor': 0.9},
     ['vllm_bench_baseline=', 'cannot be read as JSON']),
]


@pytest.mark.parametrize('playbook,settings,words', [c[1:] for c in REPORTS], ids=[c[0] for c in REPORTS])
def test_the_controller_side_is_checked_before_any_host(tmp_path, playbook, settings, words):
    env = {'INFEROPS_REPORT_DIR': '{report_file}'} if words[0] == 'INFEROPS_REPORT_DIR=' else {}
    case_dir, before, rc, out = run(tmp_path, playbook, settings, env=env)
    badinput.check_rejected(rc, out, words, case_dir, before)
    assert 'Invalid settings on the controller' in out
    for task in ('Preflight each node', 'Warm up', 'Validate the new settings'):
        assert 'TASK [%s' % task not in out or 'skipping' in out.split('TASK [%s' % task)[1][:400], '%s ran' % task
