"""The health_report action: the fleet health report from each node's inferops_health fact, written in one task.

The facts are what vllm_health returns (module_utils/serving_check.result) and what gpu_health returns (its checks);
a third node in the selection never reported.
"""
import json
import os

from ansible_collections.inferops.gpu_inference.plugins.action.health_report import ActionModule
from ansible_collections.inferops.gpu_inference.plugins.module_utils.serving_check import result
from unit_support import make_action

XID = {'name': 'xid', 'status': 'fail', 'message': 'GPU 0 (00000000:3B:00.0): Xid 79 (GPU has fallen off the bus)'}
THROTTLE = {'name': 'throttle', 'status': 'warn', 'message': 'GPU 0: hw_thermal_slowdown active'}


def hostvars():
    metrics = {'running': 1.0, 'waiting': 2.0, 'tokens': 40.0}
    return {
        'well': {'inferops_health': {'serving': result('idle', 'idle; a one-token completion answered in 0.03s'),
                                     'gpu': {'checks': [{'name': 'xid', 'status': 'ok', 'message': 'none'}, THROTTLE]}}},
        'hung': {'inferops_health': {'serving': result('stalled', '1 requests running, 2 waiting, and no token for 31s', metrics),
                                     'gpu': None}},
        'lost': {'inferops_health': {'serving': result('progressing', 'tokens advancing', metrics), 'gpu': {'checks': [XID]}}},
        'silent': {},
    }


def test_the_report_names_each_sick_node_and_why(tmp_path):
    args = {'hosts': ['well', 'hung', 'lost', 'silent', 'not-in-inventory'], 'root': str(tmp_path / 'reports'),
            'stamp': '20261204T040000Z'}
    out = make_action(ActionModule, args).run(task_vars={'hostvars': hostvars()})
    assert not out.get('failed'), out.get('msg')
    assert out['sick'] == ['hung', 'lost', 'silent']
    with open(out['json_path']) as handle:
        report = json.load(handle)
    assert report['summary']['healthy'] == ['well'] and report['summary']['warned'] == ['well']
    assert report['hosts']['hung']['causes'] == ['server stalled: 1 requests running, 2 waiting, and no token for 31s']
    assert report['hosts']['lost']['causes'] == ['GPU xid: ' + XID['message']]
    assert report['hosts']['silent']['causes'][0].startswith('server: not looked at')
    with open(out['markdown_path']) as handle:
        markdown = handle.read()
    # Sick nodes first, each with its cause; the warning listed.
    assert markdown.index('| hung | SICK') < markdown.index('| well | healthy') and 'Xid 79' in markdown
    assert 'hw_thermal_slowdown' in markdown
    assert os.path.realpath(str(tmp_path / 'reports' / 'health-latest')) == out['dir']


def test_check_mode_writes_nothing(tmp_path):
    args = {'hosts': ['well', 'hung'], 'root': str(tmp_path / 'reports')}
    out = make_action(ActionModule, args, check_mode=True).run(task_vars={'hostvars': hostvars()})
    assert out['sick'] == ['hung'] and not os.path.exists(str(tmp_path / 'reports'))
