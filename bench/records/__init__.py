"""The bottom layer: typed records passed between stages, run settings, registries, file I/O and cache keys.
Nothing here imports torch or any other layer of the package."""
