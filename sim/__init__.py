"""T3 system model and reference models."""
