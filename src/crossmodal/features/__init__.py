"""crossmodal.features."""
