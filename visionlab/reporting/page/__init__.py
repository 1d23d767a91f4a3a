"""The one-page report: ``reports/README.md`` and ``reports/index.html`` from the pipeline's outputs.

The page is built from the metrics files and their side files (typed records, :mod:`visionlab.metrics`),
the two markdown tables the AlexNet stages write, and the figures (referenced by relative path, never
copied or embedded). Every number on it was measured by the pipeline or is the seed report's own
(:mod:`visionlab.seed_report`), labelled as such. What the results come from (random AlexNet weights,
the CIFAR-10 sample, smoke settings) is read from the side files and stated at the top and in every
section it affects.

Modules, by job: ``inputs`` (where each input lives, reading it), ``blocks`` (the page as a list of
blocks, cell formatting, Markdown and HTML), ``build`` (provenance, the sections, the page written).
"""
