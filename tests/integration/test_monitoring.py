"""Alerts that act, with the real parts: playbooks/monitoring.yml sets up a monitoring host (a container of the bed's
inferops/monitoring image: Debian's prometheus and prometheus-alertmanager, Java 17, ansible-rulebook in the role's
virtualenv - tests/bed/build_monitoring_image.sh); a GPU node (a container of inferops/droplet, reached over SSH)
reports Xid 79 on its GPU 1. Then, with no person involved: Prometheus scrapes the node and fires GpuXidError for it,
Alertmanager delivers it to the rulebook's source, the rulebook (extensions/eda/rulebooks/heal.yml) runs
playbooks/health.yml for that node over SSH, and that playbook's report (health-latest/report.json) names the node
sick, with the Xid. When the Xid's series goes, the alert resolves and the rulebook runs the playbook again. A second
run of monitoring.yml changes nothing.

What stands in for what cannot exist here (each named so): the node's GPUs - nvidia-smi is the nvidia-smi double
(2 GPUs), its kernel log the kernel log double replaying an Xid 79 of GPU 1, its dcgm-exporter the dcgm-exporter
double with GPU 1's DCGM_FI_DEV_XID_ERRORS set to 79. The node runs no vLLM (its serving check says down, and
VllmNodeDown would follow a minute later). Both containers share this machine's network, each on its own loopback
address; every process listens there only.
"""
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

pytestmark = pytest.mark.bed_images  # the bed's monitoring and droplet images

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BIN = os.path.dirname(sys.executable)
DOUBLES = os.path.join(ROOT, 'tests', 'doubles')
FIXTURES = os.path.join(ROOT, 'tests', 'unit', 'fixtures')
MONITORING_IMAGE = os.environ.get('INFEROPS_MONITORING_IMAGE', 'inferops/monitoring:bookworm')
NODE_IMAGE = os.environ.get('INFEROPS_DROPLET_IMAGE', 'inferops/droplet:bookworm')
MON_ADDRESS, NODE_ADDRESS = '127.0.0.71', '127.0.0.72'
NODE = 'mon-gpu-node1'
API_KEY = 'sk-monitoring-canary-5e4d3c2b1a'  # the node's vLLM API key: carried to the rulebook's inventory, never shown
EDA_DIR = '/opt/inferops-eda'
# The dcgm-exporter double, with the Xid gauge of GPU 1 at 79 (--faults: the double reports 0 for every GPU).
DCGM_XID = """
set -e
echo '{"DCGM_FI_DEV_XID_ERRORS": {"1": 79}}' > /tmp/dcgm-faults.json
python3 /opt/doubles/dcgm_exporter_double.py --bind "$1" --port 9400 --gpus 2 --faults /tmp/dcgm-faults.json &
echo $! > /tmp/dcgm-exporter-double.pid
"""


def docker(*args, check=True):
    proc = subprocess.run(('docker',) + args, capture_output=True, text=True, check=False, timeout=120)
    if check and proc.returncode != 0:
        raise RuntimeError('docker %s: %s' % (' '.join(args[:2]), proc.stderr.strip()))
    return proc.stdout


def get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read().decode())


def wait_for(what, probe, timeout, every=1.0):
    deadline, last = time.time() + timeout, None
    while time.time() < deadline:
        try:
            found = probe()
            if found:
                return found
        except (OSError, ValueError, KeyError, subprocess.SubprocessError, RuntimeError) as exc:
            last = exc
        time.sleep(every)
    raise AssertionError('%s: not within %ss (last error: %s)' % (what, timeout, last))


@pytest.fixture(scope='module')
def bed(tmp_path_factory):
    if subprocess.run(['docker', 'info'], capture_output=True, check=False).returncode != 0:
        pytest.skip('no Docker engine (tests/bed/ensure_docker.sh)')
    for image in (MONITORING_IMAGE, NODE_IMAGE):
        if subprocess.run(['docker', 'image', 'inspect', image], capture_output=True, check=False).returncode != 0:
            pytest.skip('no image %s (make bed)' % image)
    tmp = tmp_path_factory.mktemp('monitoring')
    key = str(tmp / 'id_ed25519')
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'inferops-monitoring-test', '-f', key], check=True)
    suffix = '%d' % os.getpid()
    node, monitor = 'inferops-mon-node-' + suffix, 'inferops-mon-host-' + suffix
    try:
        docker('run', '-d', '--name', node, '--hostname', NODE, '--network', 'host', '--label', 'inferops.bed.test=monitoring',
               '-e', 'PUBLIC_KEY=' + open(key + '.pub').read().strip(), '-e', 'SSH_LISTEN_ADDRESS=' + NODE_ADDRESS,
               '-v', '%s:/usr/bin/nvidia-smi:ro' % os.path.join(DOUBLES, 'nvidia_smi_double.py'),
               '-v', '%s:/usr/local/share/nvidia-smi-double:ro' % os.path.join(FIXTURES, 'gpu', 'h100-80gb-x1'),
               '-v', '%s:/usr/bin/journalctl:ro' % os.path.join(DOUBLES, 'kernel_log_double.py'),
               '-v', '%s:/usr/local/share/kernel-log-double/kern.log:ro' % os.path.join(FIXTURES, 'kernel_log', 'xid79_fallen_off_bus.log'),
               '-v', '%s:/opt/doubles/dcgm_exporter_double.py:ro' % os.path.join(DOUBLES, 'dcgm_exporter_double.py'),
               NODE_IMAGE)
        docker('exec', node, 'sh', '-c', 'echo \'{"gpus": 2}\' > /etc/nvidia-smi-double.json')
        docker('exec', '-d', node, 'sh', '-c', DCGM_XID, 'dcgm', NODE_ADDRESS)
        docker('run', '-d', '--name', monitor, '--hostname', 'monitor', '--network', 'host',
               '--label', 'inferops.bed.test=monitoring', MONITORING_IMAGE)
        wait_for('the dcgm-exporter double', lambda: 'DCGM_FI_DEV_XID_ERRORS' in urllib.request.urlopen(
            'http://%s:9400/metrics' % NODE_ADDRESS, timeout=2).read().decode(), 30, 0.3)
        inventory = {'all': {'children': {
            'monitoring': {'hosts': {'monitor': {
                'ansible_connection': 'community.docker.docker', 'ansible_host': monitor,
                'ansible_python_interpreter': '/usr/bin/python3'}}},
            'gpu_nodes': {'hosts': {NODE: {
                'ansible_host': NODE_ADDRESS, 'ansible_user': 'root', 'ansible_python_interpreter': '/usr/bin/python3',
                # On the node's own loopback address: the node shares this machine's network, where a server of
                # another test or of `make demo` may listen on 127.0.0.1:8000.
                'vllm_server_bind_address': NODE_ADDRESS,
                'vllm_server_port': 8000, 'vllm_server_model': 'org/tiny', 'vllm_server_api_key': API_KEY,
                'vllm_server_runtime': 'process', 'vllm_server_accelerator': 'nvidia'}}}}}}
        (tmp / 'inventory.yml').write_text(yaml.safe_dump(inventory))
        settings = {
            'vllm_monitoring_listen_address': MON_ADDRESS, 'vllm_monitoring_scrape_interval': '1s',
            'vllm_monitoring_evaluation_interval': '1s', 'vllm_monitoring_group_wait': '1s',
            'vllm_monitoring_group_interval': '2s', 'vllm_monitoring_eda_ssh_private_key': open(key).read(),
            # The serving check's bounds, short: nothing serves on the node.
            'vllm_monitoring_eda_vars': {'vllm_server_health_probe_timeout': 2, 'vllm_server_health_stall_seconds': 2}}
        (tmp / 'settings.json').write_text(json.dumps(settings))
        yield {'tmp': tmp, 'monitor': monitor, 'node': node}
    finally:
        for name in (monitor, node):
            docker('rm', '-f', name, check=False)


def monitoring_playbook(bed, *options):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'))
    cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', str(bed['tmp'] / 'inventory.yml'),
           '-e', '@' + str(bed['tmp'] / 'settings.json'), os.path.join(ROOT, 'playbooks', 'monitoring.yml')] + list(options)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False, timeout=400)
    return proc.returncode, proc.stdout + proc.stderr


def in_monitor(bed, *argv):
    return docker('exec', bed['monitor'], *argv)


def test_an_xid_alert_runs_the_health_playbook_for_the_node(bed):
    started = time.time()
    rc, out = monitoring_playbook(bed)
    assert rc == 0, out[-6000:]
    set_up = time.time() - started
    assert API_KEY not in out and 'PRIVATE KEY' not in out

    # The role's verification passed; now the loop, with nobody in it. Prometheus fires the alert for the node.
    prometheus = 'http://%s:9090' % MON_ADDRESS
    firing = wait_for('GpuXidError firing in Prometheus', lambda: [
        a for a in get_json(prometheus + '/api/v1/alerts')['data']['alerts']
        if a['labels']['alertname'] == 'GpuXidError' and a['state'] == 'firing'], 30)
    assert [(a['labels']['node'], a['labels']['gpu'], a['value']) for a in firing] == [(NODE, '1', '7.9e+01')]
    up = get_json(prometheus + '/api/v1/query?query=' + urllib.request.quote('up{node="%s"}' % NODE))['data']['result']
    assert sorted((r['metric']['job'], r['value'][1]) for r in up) == [('dcgm', '1'), ('vllm', '0')]

    # Alertmanager has it, and delivered it to the webhook (the rulebook's source).
    alertmanager = 'http://%s:9093' % MON_ADDRESS
    assert [a['labels']['node'] for a in get_json(alertmanager + '/api/v2/alerts?filter=alertname%3D%22GpuXidError%22')] == [NODE]

    def delivered():
        # Attempts, and failed ones (a notification sent while the rulebook's JVM still starts fails, and is retried).
        counts = dict((line.split('{', 1)[0], float(line.rsplit(' ', 1)[1]))
                      for line in urllib.request.urlopen(alertmanager + '/metrics', timeout=5).read().decode().splitlines()
                      if line.startswith(('alertmanager_notifications_total{integration="webhook"}',
                                          'alertmanager_notifications_failed_total{integration="webhook"}')))
        return counts['alertmanager_notifications_total'] - counts['alertmanager_notifications_failed_total'] >= 1
    wait_for('Alertmanager delivering to the rulebook', delivered, 60)

    # The rulebook ran the health playbook for the node, and its report names the node sick, with the Xid.
    report_path = EDA_DIR + '/reports/health-latest/report.json'
    report = json.loads(wait_for('the health report on the monitoring host', lambda: in_monitor(bed, 'cat', report_path), 120, 2))
    healed = time.time() - started
    log = in_monitor(bed, 'cat', EDA_DIR + '/rulebook.log')
    assert "'alertname': 'GpuXidError'" in log and "'node': '%s'" % NODE in log, log[-3000:]  # the event, as printed
    assert list(report['hosts']) == [NODE] and report['summary']['sick'] == [NODE], report
    host = report['hosts'][NODE]
    assert host['healthy'] is False and host['serving']['state'] == 'down', host  # no vLLM runs on the node
    assert [c for c in host['causes'] if c.startswith('GPU xid') and '79' in c], host['causes']  # the kernel log's Xid
    assert API_KEY not in log

    # The Xid's series goes (the dcgm-exporter double stopped, by its pid): the alert resolves, Alertmanager sends
    # that, and the rulebook runs the health playbook again (a node well again would be put back; this one is not).
    first = in_monitor(bed, 'readlink', EDA_DIR + '/reports/health-latest').strip()
    docker('exec', bed['node'], 'sh', '-c', 'kill "$(cat /tmp/dcgm-exporter-double.pid)"')
    wait_for('GpuXidError resolved in Prometheus', lambda: not [
        a for a in get_json(prometheus + '/api/v1/alerts')['data']['alerts'] if a['labels']['alertname'] == 'GpuXidError'], 30)
    again = wait_for('a second health report', lambda: (in_monitor(bed, 'readlink', EDA_DIR + '/reports/health-latest').strip()
                                                        not in ('', first)) and in_monitor(bed, 'cat', report_path), 90, 2)
    log = in_monitor(bed, 'cat', EDA_DIR + '/rulebook.log')
    assert "'status': 'resolved'" in log or '"status": "resolved"' in log, log[-3000:]
    assert list(json.loads(again)['hosts']) == [NODE]
    resolved_at = time.time() - started

    # A second run changes nothing.
    rc, out = monitoring_playbook(bed)
    assert rc == 0 and 'changed=0' in out, out[-4000:]
    print('\nmonitoring: set up %.0fs; alert to report %.0fs; resolved to report %.0fs; total %.0fs'
          % (set_up, healed - set_up, resolved_at - healed, time.time() - started))


def test_bad_settings_are_refused_before_any_change(tmp_path):
    """Validation, on this machine (a local connection): every problem named with its variable and value, secrets not
    shown, and the run stops before the first change (nothing installed or written: the role's folder not made)."""
    inventory = {'all': {'children': {
        'monitoring': {'hosts': {'monitor': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}}},
        'gpu_nodes': {'hosts': {'node-a': {'ansible_host': '127.0.0.9'}}}}}}
    (tmp_path / 'inventory.yml').write_text(yaml.safe_dump(inventory))
    eda_dir = str(tmp_path / 'eda')
    token = 'short token!'
    settings = {
        'vllm_monitoring_nodes': ['node-a', 'node-z', {'name': 'n1', 'address': 'evil\naddress', 'port': 70000, 'gpus': 2},
                                  {'name': 'node-a', 'address': '127.0.0.10'}],
        'vllm_monitoring_scrape_interval': '5 seconds', 'vllm_monitoring_group_wait': '0s',
        'vllm_monitoring_alertmanager_port': 9090, 'vllm_monitoring_eda_dir': eda_dir,
        'vllm_monitoring_eda_token': token, 'vllm_monitoring_eda_ssh_private_key': 'not-a-key-canary',
        'vllm_monitoring_eda_packages': ['ansible==12.3.0'], 'vllm_monitoring_scrape_intervall': '5s'}
    (tmp_path / 'settings.json').write_text(json.dumps(settings))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'))
    proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', str(tmp_path / 'inventory.yml'), '-vvv',
                           '-e', '@' + str(tmp_path / 'settings.json'), os.path.join(ROOT, 'playbooks', 'monitoring.yml')],
                          capture_output=True, text=True, env=env, cwd=ROOT, check=False, timeout=300)
    out = ' '.join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0, out[-3000:]
    for words in ("vllm_monitoring_nodes entry 2 is 'node-z': not an inventory host",
                  'vllm_monitoring_nodes entry 3 has keys gpus; allowed: name, address, port, gpu',
                  "vllm_monitoring_nodes entry 3 (n1): address='evil\\naddress'; expected an IP address or a DNS name",
                  "vllm_monitoring_nodes entry 3 (n1): port='70000'; expected a port from 1 to 65535",
                  'vllm_monitoring_nodes names a node twice: node-a',
                  'vllm_monitoring_nodes names node-z, n1, not in vllm_monitoring_eda_hosts (node-a): the rulebook could not run',
                  'vllm_monitoring_prometheus_port=9090, vllm_monitoring_alertmanager_port=9090',
                  "vllm_monitoring_scrape_interval='5 seconds'; expected a Prometheus duration",
                  "vllm_monitoring_group_wait='0s'",
                  'vllm_monitoring_eda_packages=["ansible==12.3.0"]; it must install ansible-rulebook',
                  'vllm_monitoring_eda_ssh_private_key is set but is not a private key',
                  'vllm_monitoring_eda_token is set but is not at least 16 characters',
                  'vllm_monitoring_scrape_intervall is not a variable of the role vllm_monitoring '
                  '(did you mean vllm_monitoring_scrape_interval?)'):
        assert words in out, words
    assert token not in out and 'not-a-key-canary' not in out
    assert 'Find whether systemd runs this host' not in out  # stopped at the validation, before the first step after it
    assert not os.path.exists(eda_dir)


def test_check_mode_on_a_new_host_says_what_it_would_do_and_changes_nothing(tmp_path):
    """Check mode on a host that has none of it (this machine, a local connection): the run passes, reports the
    packages, files and virtualenv it would install or write, and none of them exists afterwards."""
    inventory = {'all': {'children': {
        'monitoring': {'hosts': {'monitor': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}}},
        'gpu_nodes': {'hosts': {'node-a': {'ansible_host': '127.0.0.9', 'vllm_server_port': 18000}}}}}}
    (tmp_path / 'inventory.yml').write_text(yaml.safe_dump(inventory))
    eda_dir = str(tmp_path / 'eda')
    (tmp_path / 'settings.json').write_text(json.dumps({'vllm_monitoring_eda_dir': eda_dir, 'vllm_monitoring_listen_address': '127.0.0.73'}))
    watched = ['/etc/prometheus/prometheus.yml', '/etc/prometheus/alertmanager.yml', '/etc/prometheus/rules/inferops-alerts.yml',
               '/etc/supervisor/conf.d/inferops-monitoring.conf', '/etc/default/prometheus', '/usr/bin/prometheus']
    before = dict((path, os.path.exists(path)) for path in watched)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'))
    proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', str(tmp_path / 'inventory.yml'), '--check',
                           '-e', '@' + str(tmp_path / 'settings.json'), os.path.join(ROOT, 'playbooks', 'monitoring.yml')],
                          capture_output=True, text=True, env=env, cwd=ROOT, check=False, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    would = ['Install ansible-rulebook', "Write the rulebook's inventory", "Write the rulebook's variables"]
    would += ['Write the scrape configuration'] if not before['/etc/prometheus/prometheus.yml'] else []
    would += ['Install the packages'] if not before['/usr/bin/prometheus'] else []
    for task in would:
        assert re.search(r'TASK \[[^]]*%s[^]]*\][^\n]*\nchanged: \[monitor\]' % re.escape(task), out), task
    assert dict((path, os.path.exists(path)) for path in watched) == before
    assert not os.path.exists(eda_dir)
