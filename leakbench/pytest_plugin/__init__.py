"""The pytest plugin: the leak_check fixture and its in-process load."""
