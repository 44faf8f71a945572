"""``python -m course_lib.own_images``: see ``cli``."""

import sys

from course_lib.own_images.cli import main

if __name__ == "__main__":
    sys.exit(main())
