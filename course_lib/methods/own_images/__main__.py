"""``python -m course_lib.methods.own_images``: see ``cli``."""

import sys

from course_lib.methods.own_images.cli import main

if __name__ == "__main__":
    sys.exit(main())
