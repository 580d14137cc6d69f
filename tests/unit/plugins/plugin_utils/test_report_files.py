"""report_files: where reports go (one default root for every report action) and how they are written."""
import os

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import report_files
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.report_files import (
    REPORT_DIR_ENV, default_root, report_folder, write_report)


def test_the_root_is_the_environment_variable_else_reports_in_the_current_folder():
    # Not beside the playbook: the playbooks of an installed collection live inside the collection.
    assert default_root({'playbook_dir': '/x/playbooks'}, environ={}) == os.path.join(os.getcwd(), 'reports')
    assert default_root({'playbook_dir': '/x/playbooks'}, environ={REPORT_DIR_ENV: '/r'}) == '/r'


def test_report_folder_fills_in_root_and_stamp_only_where_not_given():
    args = {'root': None, 'stamp': None}
    folder = report_folder(args, 'bench', {'playbook_dir': '/x/playbooks'})
    assert args['root'] == os.environ.get(REPORT_DIR_ENV) or args['root'] == os.path.join(os.getcwd(), 'reports')
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


def test_a_report_that_cannot_be_written_says_failed_not_changed(tmp_path):
    root = str(tmp_path / 'root-is-a-file')
    with open(root, 'w') as handle:
        handle.write('x')
    result = report_files.publish({'changed': True}, False, {'root': root, 'latest_link': True}, 'bench',
                                  os.path.join(root, 'bench-x'), {'a.json': '{}'}, 'benchmark report')
    assert result['failed'] and result['changed'] is False and 'cannot write the benchmark report' in result['msg']


def test_root_problems_name_where_the_root_came_from(tmp_path):
    assert report_files.root_problems(str(tmp_path / 'new' / 'deeper')) == []
    afile = tmp_path / 'afile'
    afile.write_text('x')
    env = {'INFEROPS_REPORT_DIR': str(afile / 'sub')}
    problems = report_files.root_problems(str(afile / 'sub'), environ=env)
    assert len(problems) == 1 and problems[0].startswith('INFEROPS_REPORT_DIR="%s"' % (afile / 'sub')) and 'is not a folder' in problems[0]
    assert 'the report folder' in report_files.root_problems(str(afile), environ={})[0]


def test_results_file_problems(tmp_path):
    good, bad, empty = tmp_path / 'good.json', tmp_path / 'bad.json', tmp_path / 'empty.json'
    good.write_text('{"records": []}')
    bad.write_text('<html>')
    empty.write_text('{"runs": []}')
    assert report_files.results_file_problems('v', '') == [] and report_files.results_file_problems('v', str(good)) == []
    assert 'cannot be read as JSON' in report_files.results_file_problems('v', str(bad))[0]
    assert 'holds no "records" list' in report_files.results_file_problems('v', str(empty))[0]
    assert 'is not a file' in report_files.results_file_problems('v', str(tmp_path / 'none'))[0]
