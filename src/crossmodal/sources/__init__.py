"""crossmodal.sources."""
