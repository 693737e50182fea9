"""Per-frame features: input streams, the frame-CNN engine, the on-disk cache and its extraction."""
