"""Thin front ends over `QAService`: the `qa` command and the web chat."""
