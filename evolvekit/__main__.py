import sys

from evolvekit.cli.main import main

sys.exit(main())
