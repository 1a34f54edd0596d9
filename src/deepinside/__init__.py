"""deepinside: the helper package of the book *Inside Deep Networks*.

Modules, one concern each:

- :mod:`deepinside.runtime`: profiles, seeds, devices, cache root, progress bars
- :mod:`deepinside.data`: offline and downloadable image datasets as tensors
- :mod:`deepinside.models`: the book's bias-free networks
- :mod:`deepinside.training`: seeded training and the checkpoint cache
- :mod:`deepinside.covariance`: covariances, spectra, Marchenko–Pastur, clipping
- :mod:`deepinside.recipes`: setups shared by several chapters
- :mod:`deepinside.plotting`, :mod:`deepinside.notebook`: figures and glue
- :mod:`deepinside.interactive`: explorers (widgets live, a static figure in the book)
- :mod:`deepinside.teaching`: student and instructor copies of the chapters
- :mod:`deepinside.build`: the book build
"""

__version__ = "0.1.0"
