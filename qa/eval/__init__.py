"""Evaluation: golden JSON Lines files and SQuAD-format sets, measured through the public API."""
