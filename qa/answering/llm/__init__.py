"""The LLM backend: prompt, streamed `[n]` markers, sentence stream, citation verification, client."""
