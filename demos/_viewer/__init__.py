"""The parts of the viewer (``demos.explore``): worker, tiles, overlay, script, app.

``worker`` needs no pygame (it runs in the generation process); the others draw.
"""

import os

# pygame prints a banner on import unless told not to; the viewer's output is its own.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
