"""crossmodal.datasets."""
