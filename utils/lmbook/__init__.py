"""lmbook: the shared code of the book "From N-grams to GPT".

Modules: ``data`` (offline corpora and models), ``repro`` (seeding), ``devices`` (device
and profile), ``viz`` (plot style, heatmaps). Later chapters add their model modules
(``ngram``, ``hmm``, ``transformer``, ...). Import submodules explicitly, e.g. ``from
lmbook import data``; importing ``lmbook`` itself is cheap.
"""

__version__ = "0.1.0"
