"""The question side: conversation -> retrieval -> fusion -> evidence, over a corpus snapshot."""
