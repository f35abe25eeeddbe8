"""Altair chart builders for the book, one module per chapter.

Charts take tidy DataFrames from :mod:`costmodel.quantities` and return Altair
charts; they never compute a formula themselves. Rendering offline is the job
of :mod:`costmodel.offline`.
"""
