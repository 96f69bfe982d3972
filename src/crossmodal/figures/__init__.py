"""crossmodal.figures: the paper's Figure 1 (a random network maps a toy manifold continuously)
and Figure 2 (learning curves of an nn mapping), as data tables and byte-reproducible PNGs."""
