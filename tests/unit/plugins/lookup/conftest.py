"""What the lookup tests share."""
import pytest

from unit_support import install_collection_finder


@pytest.fixture(scope='module')
def collection_loader():
    """A lookup that asks the plugin loader for ansible.builtin.vars by its full name, and a role's template naming a
    filter of the collection, need Ansible's collection loader (installed by every ansible CLI): installed for a test
    module's tests (pytestmark usefixtures), removed after them."""
    finder = install_collection_finder()
    yield
    finder._remove()
