#!/usr/bin/env python3
"""Runs the wsidicomizer CLI (PyPI) on Debian 12, where ctypes.util.find_library("libturbojpeg") crashes
while libturbojpeg0-dev's static archive is installed: the lookup is pointed at the shared library."""
import ctypes.util
import sys

_find_library = ctypes.util.find_library
ctypes.util.find_library = lambda name: "/usr/lib/x86_64-linux-gnu/libturbojpeg.so.0" if "turbojpeg" in name else _find_library(name)

from wsidicomizer.cli import main  # noqa: E402

sys.argv[0] = "wsidicomizer"
sys.exit(main())
