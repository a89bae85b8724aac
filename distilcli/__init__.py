"""distilcli: distill, fine-tune, evaluate and benchmark BERT-family models.

The public Python API lives in the ``run_*`` functions of each subpackage; the
command line (``distil``) is a thin layer over them.
"""

__version__ = "0.1.0"
