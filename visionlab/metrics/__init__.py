"""The typed schema of every metrics file and side file: one dataclass per file, one small module per concept.

``record`` checks and writes them; each stage imports only the module of the files it writes, so a
schema edit reruns exactly the stages (and the report) that use it.
"""
