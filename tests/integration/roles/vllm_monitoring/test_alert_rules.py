"""The alert rules role vllm_monitoring ships (roles/vllm_monitoring/files/inferops-alerts.yml), checked and tested
by the real promtool (Debian's prometheus package; `make bed` puts one beside the virtualenv's Python where the
machine has none): inferops-alerts.test.yml holds the input series and the alerts expected from them. With the
integration tests, which run once the bed is built (the unit tests run before it)."""
import os
import shutil
import subprocess

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..', '..'))
RULES = os.path.join(ROOT, 'roles', 'vllm_monitoring', 'files', 'inferops-alerts.yml')
TESTS = os.path.join(HERE, 'inferops-alerts.test.yml')
ALERTS = ['VllmNodeDown', 'VllmEngineStalled', 'VllmKvCacheSaturated', 'GpuXidError', 'GpuUncorrectableEcc']


def promtool():
    found = shutil.which('promtool')
    if not found:
        pytest.fail('promtool is not installed: make bed copies Debian\'s into the virtualenv')
    return found


def test_the_rules_file_is_valid():
    proc = subprocess.run([promtool(), 'check', 'rules', RULES], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'SUCCESS: 5 rules found' in proc.stdout + proc.stderr


def test_each_alert_fires_for_the_sick_node_only():
    proc = subprocess.run([promtool(), 'test', 'rules', TESTS], capture_output=True, text=True, check=False, cwd=HERE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'SUCCESS' in proc.stdout + proc.stderr


def test_every_alert_is_tested_firing_and_keeps_the_node_label():
    with open(RULES) as handle:
        rules = [rule for group in yaml.safe_load(handle)['groups'] for rule in group['rules']]
    assert [rule['alert'] for rule in rules] == ALERTS
    with open(TESTS) as handle:
        cases = [case for test in yaml.safe_load(handle)['tests'] for case in test['alert_rule_test']]
    for name in ALERTS:
        firing = [alert for case in cases if case['alertname'] == name for alert in case['exp_alerts']]
        assert firing, '%s is never tested firing' % name
        assert all(alert['exp_labels'].get('node') for alert in firing), '%s lost the node label' % name
