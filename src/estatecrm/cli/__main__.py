"""`python -m estatecrm.cli`."""

from estatecrm.cli.app import main

main()
