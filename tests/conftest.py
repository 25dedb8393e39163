import os

# Headless by default: the viewer and demos must run without a screen.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
