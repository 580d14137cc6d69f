"""pytest set-up for the unit tests: see unit_support.py."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# Importing it puts ansible_collections (this checkout) and the test doubles on sys.path.
import unit_support  # noqa: E402,F401 pylint: disable=unused-import,wrong-import-position
