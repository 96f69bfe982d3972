"""crossmodal.experiments."""
