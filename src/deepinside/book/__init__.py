"""The book's tooling, apart from the science package it documents.

- :mod:`deepinside.book.toc`: the chapters listed in ``_toc.yml``, in book order
- :mod:`deepinside.book.imports`: the package's import graph, its closures and cycles
- :mod:`deepinside.book.fingerprints`: what each staged chapter was executed from
- :mod:`deepinside.book.measurements`: run times and benchmarks as a page of the book
- :mod:`deepinside.book.teaching`: student and instructor copies of the chapters
  (``python -m deepinside.book.teaching``)
- :mod:`deepinside.book.build`: the book build (``python -m deepinside.book.build``)
"""
