"""`python -m actcap` is the `actcap` command."""

import sys

from actcap.cli import main

sys.exit(main())
