"""Inventory plugin tests: a package, so that test_runpod.py here and in ../filter/ can be collected in one run."""
