"""Make this checkout importable as ansible_collections.inferops.gpu_inference for pytest."""
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
FIXTURES = os.path.join(ROOT, 'tests', 'unit', 'fixtures')
DOUBLES = os.path.join(ROOT, 'tests', 'doubles')


def _collection_root():
    # Under ansible-test the checkout already sits at .../ansible_collections/inferops/gpu_inference.
    parts = ROOT.split(os.sep)
    if parts[-3:-2] == ['ansible_collections']:
        return os.sep.join(parts[:-3])
    link_parent = os.path.join(ROOT, '.collections', 'ansible_collections', 'inferops')
    link = os.path.join(link_parent, 'gpu_inference')
    if not os.path.exists(link):
        os.makedirs(link_parent, exist_ok=True)
        os.symlink(os.path.join('..', '..', '..'), link)
    return os.path.join(ROOT, '.collections')


sys.path.insert(0, _collection_root())
sys.path.insert(0, DOUBLES)
