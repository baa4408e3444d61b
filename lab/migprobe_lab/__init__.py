"""migprobe lab: real guests, real live migrations and a lab cloud on one machine.

See lab/README.md. Everything the lab creates is named with the prefix "mp" and lives
in the 10.77.0.0/24 range, so `migprobe-lab down` can remove exactly what it made.
"""
