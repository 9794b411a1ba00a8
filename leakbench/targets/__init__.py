"""What rows are measured on: every kind of target, side by side behind one seam.

:mod:`leakbench.targets.handle` is the seam; :mod:`~leakbench.targets.spawned`,
:mod:`~leakbench.targets.attached` and :mod:`~leakbench.targets.watched` are the
kinds. The rest serves a target leakbench starts: its process, its probe, and
what it is given. Kept free of imports: the target process imports this package.
"""
