"""deepinside: the helper package of the book *Inside Deep Networks*.

Modules, one concern each, from the bottom layer up (a module imports only those above it in
this list; a test fails on an import cycle):

- :mod:`deepinside.linalg`: eigenpairs, square roots and powers of PSD matrices, correlation
- :mod:`deepinside.parameters`: every chapter parameter declared once, its values checked, its table
- :mod:`deepinside.runtime`: a chapter's start (profile, seed, device), cache root, progress bars
- :mod:`deepinside.data`: offline and downloadable image datasets as tensors
- :mod:`deepinside.tasks`: tasks built from data (signals in noise, noise, random labels), splits
- :mod:`deepinside.models`: the book's bias-free networks, their conv layers, torchvision's
- :mod:`deepinside.training`: seeded training, checkpoint keys derived from the builders
- :mod:`deepinside.covariance`: covariances, spectra, Marchenko–Pastur, clipping, Bures
- :mod:`deepinside.alignment`: aligning two networks' representations, r², CKA
- :mod:`deepinside.rainbow`: generating networks from weight covariances
- :mod:`deepinside.spatial`: spatial covariance and eigenvectors of conv filters
- :mod:`deepinside.energy`: patch PCA, first-layer energy profiles, the linear theory
- :mod:`deepinside.cnfa`: filter covariances (CNFM) and patch-AGOPs
- :mod:`deepinside.rfm`: patch kernels, kernel ridge, ConvRFM and Deep ConvRFM
- :mod:`deepinside.inversion`: inverting a layer's embedding by gradient descent
- :mod:`deepinside.setups`: the settings and trained networks that several chapters share
- :mod:`deepinside.plotting`: the figure style and a few drawings the chapters share
- :mod:`deepinside.notebook`: glue for the prose, the package's own code shown in a chapter
- :mod:`deepinside.interactive`: explorers (widgets live, a static figure in the book)
- :mod:`deepinside.book`: the book's tooling (build, table of contents, teaching copies),
  which no science module imports
"""

__version__ = "0.1.0"
