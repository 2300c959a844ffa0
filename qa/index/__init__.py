"""The index side: files -> documents -> chunks and sentences -> vectors -> the store."""
