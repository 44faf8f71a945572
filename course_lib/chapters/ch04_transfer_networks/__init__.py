"""Chapter 04, transfer networks: channel copying, a shared embedding (CCSA), fusion, a multimodal source.

The chapter's own pieces: ``experiments`` (registered with ``course_lib.experiments``),
``exercises`` (the checks of its exercises), ``plots`` and ``diagrams`` (its figures) and
``source_text_code`` (the source text's transfer code, kept to show why it cannot run).
"""
