"""crossmodal.tables."""
