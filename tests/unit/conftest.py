"""pytest set-up for the unit tests: see unit_support.py."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import unit_support  # noqa: E402,F401  (sets up sys.path for ansible_collections and the doubles)
