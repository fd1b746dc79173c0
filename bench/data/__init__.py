"""Task files, dataset loaders and the synthetic domain."""
