"""What the lookup tests share."""
import pytest

from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

from unit_support import _collection_root


@pytest.fixture(scope='module')
def collection_loader():
    """A lookup that asks the plugin loader for ansible.builtin.vars by its full name needs Ansible's collection loader
    (installed by every ansible CLI): installed for a test module's tests (pytestmark usefixtures), removed after them."""
    finder = _AnsibleCollectionFinder(paths=[_collection_root()])
    finder._install()
    yield
    finder._remove()
