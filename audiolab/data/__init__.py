"""Training data: procedural labelled sounds."""
