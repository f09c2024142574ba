"""``python -m avd``: the ``avd`` command."""

from avd.cli import main

main()
