"""``python -m geroconvert ...`` is the ``geroconvert`` command."""

import sys

from geroconvert.interfaces.cli import main

if __name__ == "__main__":
    sys.exit(main())
