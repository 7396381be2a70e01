"""The quiet CLI: long steps print rate-limited progress lines with their elapsed time; the
rest of the process's output (Dagster events, dbt) lands in the log file."""

import os

from finops_dagster.console import PROGRESS, ProgressLines, new_step, quiet


def test_progress_lines_are_rate_limited_and_timed():
    said: list[str] = []
    handler = ProgressLines(said.append, every=3600)
    PROGRESS.addHandler(handler)
    try:
        for i in range(50):
            PROGRESS.info(f"CUR 2026-09: read file {i + 1}/50 (1.0/50.0 MB, 10 rows, 2%)")
            PROGRESS.info("CloudWatch: 3 queries so far")
        PROGRESS.info("CUR 2026-09: read file 50/50 (50.0/50.0 MB, 500 rows, 100%)")  # always
        new_step()  # a new job: times restart, the first line of a step always prints
        handler.last = float("-inf")
        PROGRESS.info("dbt build: 1/19 models (5%), last stg_cur__line_items")
    finally:
        PROGRESS.removeHandler(handler)
    assert len(said) == 3 and "read file 50/50" in said[1]
    assert said[0].endswith("s  CUR 2026-09: read file 1/50 (1.0/50.0 MB, 10 rows, 2%)")
    assert said[2].strip().startswith("0 s  dbt build: 1/19")


def test_quiet_sends_output_to_the_log_and_progress_to_the_terminal(tmp_path, capfd):
    log = tmp_path / "run.log"
    with quiet(log) as say:
        os.write(1, b"2026-09-17 - dagster - DEBUG - STEP_START\n")
        say("[1/4] ingest")
        PROGRESS.info("CUR 2026-09: read file 1/1 (1.0/1.0 MB, 10 rows, 100%)")
    terminal = capfd.readouterr().out
    assert "STEP_START" not in terminal
    assert "[1/4] ingest" in terminal and "read file 1/1" in terminal
    text = log.read_text()
    assert "STEP_START" in text and "[finops-dagster] [1/4] ingest" in text
    assert not any(isinstance(h, ProgressLines) for h in PROGRESS.handlers)  # removed on the way out
