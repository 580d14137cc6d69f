"""The preflight_report action: the fleet report from each host's gpu_host_check facts, written in one task.

The facts come from the gpu_host_check action run on two hosts (the nvidia-smi double: one healthy,
one with uncorrected ECC errors); a third host in the selection never reported.
"""
import json
import os

from ansible_collections.inferops.gpu_inference.plugins.action.preflight_report import ActionModule
from unit_support import make_action

ECC = '{"gpus": 2, "set_gpu": {"1": {"ecc.errors.uncorrected.volatile.total": 4}}}'


def hostvars(run_action):
    facts = {}
    for host, profile in (('good', '{"gpus": 2}'), ('bad', ECC)):
        result, dummy = run_action(profile=profile, host=host, defer_failure=True)
        facts[host] = dict(result['ansible_facts'], inventory_hostname=host)
    facts['silent'] = {'inventory_hostname': 'silent'}
    return facts


def test_the_report_names_the_failing_host_and_the_one_that_never_reported(run_action, tmp_path):
    task_vars = {'hostvars': hostvars(run_action), 'playbook_dir': str(tmp_path)}
    args = {'hosts': ['bad', 'good', 'silent', 'not-in-inventory'], 'root': str(tmp_path / 'reports'), 'stamp': '20261124T150000Z'}
    result = make_action(ActionModule, args).run(task_vars=task_vars)
    assert not result.get('failed'), result.get('msg')
    # A host of the selection that never reported fails the fleet too (unreachable, or failed before its checks).
    assert result['hosts_should_fail'] == ['bad', 'silent']
    folder = tmp_path / 'reports' / 'preflight-20261124T150000Z'
    assert result['dir'] == str(folder)
    with open(result['json_path']) as handle:
        report = json.load(handle)
    assert report == json.loads(json.dumps(result['report'], default=str))
    assert sorted(report['hosts']) == ['bad', 'good', 'silent'] and report['hosts']['good']['should_fail'] is False
    assert [c['check'] for c in report['hosts']['silent']['checks'] if c['status'] == 'fail'] == ['reachable']
    with open(result['markdown_path']) as handle:
        markdown = handle.read()
    # Failing hosts first; the check that failed is named.
    assert markdown.index('bad') < markdown.index('good') and 'ecc_uncorrected' in markdown
    assert os.path.realpath(str(tmp_path / 'reports' / 'preflight-latest')) == str(folder)


def test_check_mode_writes_nothing(run_action, tmp_path):
    args = {'hosts': ['good', 'bad'], 'root': str(tmp_path / 'reports'), 'stamp': '20261124T150000Z'}
    result = make_action(ActionModule, args, check_mode=True).run(task_vars={'hostvars': hostvars(run_action)})
    assert result['hosts_should_fail'] == ['bad']
    assert not os.path.exists(str(tmp_path / 'reports'))
