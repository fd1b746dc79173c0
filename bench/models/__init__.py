"""Generators: presets, loading, prompt formatting, batched generation and label choice; device and memory."""
