"""Learned layer: river models fitted to real river paths (World Data Bank II).

Kept light on purpose: importing ``learned`` (or ``learned.data``) imports no torch; the
modules that need it (``learned.pretrained``, ``learned.baselines``, ``learned.models``, ...)
import it themselves, through ``learned._torch``: without torch they raise
``ModuleNotFoundError`` naming the commands that install it (from a checkout,
``pip install -e ".[learned]"``; without a GPU, the CPU wheel from PyTorch's CPU index).
"""
