"""crossmodal.metrics."""
