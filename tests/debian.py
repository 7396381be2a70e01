"""Debian packages the tests need beside Python (Chromium for the UI, Java for Spark): installed
with apt-get when missing, so `make test` stays the one command on a fresh machine."""

from __future__ import annotations

import os
import subprocess


def apt_install(*packages: str) -> None:
    """``apt-get install``, after an ``apt-get update`` if the package lists are too old."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    argv = ["apt-get", "install", "-y", "-q", *packages]
    if subprocess.run(argv, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, check=True, capture_output=True)
        subprocess.run(argv, env=env, check=True, capture_output=True)
