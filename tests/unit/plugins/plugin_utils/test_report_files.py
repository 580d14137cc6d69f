"""report_files: where reports go (one default root for every report action) and how they are written."""
import os

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.report_files import (
    REPORT_DIR_ENV, default_root, report_folder, write_report)


def test_the_root_is_the_environment_variable_else_reports_beside_the_playbooks_folder():
    assert default_root({'playbook_dir': '/x/playbooks'}, environ={}) == '/x/reports'
    assert default_root({'playbook_dir': '/x/playbooks'}, environ={REPORT_DIR_ENV: '/r'}) == '/r'


def test_report_folder_fills_in_root_and_stamp_only_where_not_given():
    args = {'root': None, 'stamp': None}
    folder = report_folder(args, 'bench', {'playbook_dir': '/x/playbooks'})
    assert args['root'] == os.environ.get(REPORT_DIR_ENV) or args['root'] == '/x/reports'
    assert folder == os.path.join(args['root'], 'bench-' + args['stamp']) and len(args['stamp']) == 16
    given = {'root': '/mine', 'stamp': '20261124T000000Z'}
    assert report_folder(given, 'capacity', {}) == '/mine/capacity-20261124T000000Z'


def test_write_report_writes_whole_files_and_moves_the_latest_link(tmp_path):
    root = str(tmp_path)
    for stamp in ('a', 'b'):
        folder = os.path.join(root, 'bench-' + stamp)
        write_report(root, 'bench', folder, {'summary.md': '# ' + stamp})
    assert os.readlink(os.path.join(root, 'bench-latest')) == 'bench-b'
    assert open(os.path.join(root, 'bench-latest', 'summary.md')).read() == '# b'
    assert not [n for n in os.listdir(os.path.join(root, 'bench-b')) if n.endswith('.tmp')]
