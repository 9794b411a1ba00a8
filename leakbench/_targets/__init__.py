"""What rows are measured on: every kind of target, side by side behind one seam.

:mod:`leakbench._targets.handle` is the seam; :mod:`~leakbench._targets.spawned`,
:mod:`~leakbench._targets.attached` and :mod:`~leakbench._targets.watched` are the
kinds. The rest serves a target leakbench starts: its process, its probe, and
what it is given. Kept free of imports: the target process imports this package.
"""
