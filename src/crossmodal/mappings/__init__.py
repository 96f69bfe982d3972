"""crossmodal.mappings."""
