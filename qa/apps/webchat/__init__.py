"""The web chat (Gradio): rendering, layout and handlers, and the server entry point."""
