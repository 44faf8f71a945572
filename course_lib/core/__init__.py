"""What every chapter shares.

==============  ===========================================================
module          what it holds
==============  ===========================================================
``environment`` ``setup()`` (seeds, threads, determinism), ``check_env()``
``resources``   CPUs and memory a container really gives; other kernels' memory
``data``        the three data domains, splits, few-shot subsets
``cache``       the cache folder: atomic writes, keyed entries, rebuilds
``cnn``         the course's CNN and its named blocks
``layers``      model surgery: select, freeze, count, cut, copy, new head
``training``    ``fit``: the one way the course trains a model
``evaluation``  predictions, accuracy, a layer's output
``pretrained``  the trained source models (recipes, cached)
``checks``      input checks with messages that say what to do
``progress``    the one-line training display
``plots``       the course's plot style and shared plots
==============  ===========================================================
"""
