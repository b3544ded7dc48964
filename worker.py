"""``python worker.py [--burst] [queue ...]`` = ``anjian worker``; ``--scheduler`` = ``anjian scheduler``."""
from anjian.jobs.worker import legacy_main

legacy_main(__import__("sys").argv[1:])
