"""crossmodal: does a learned mapping f: X -> Y bridge two embedding spaces?

A reproduction of Collell & Moens (ACL 2018) as an importable library. The Snakemake
workflow in ``workflow/`` only adapts files to the functions defined here.
"""

__version__ = "0.1.0"
