"""Chapter 03, transfer networks: channel copying done right, a shared embedding (CCSA), fusion, a multimodal source.

The chapter's own pieces: ``experiments`` (registered with ``course_lib.experiments``),
``exercises`` (the checks of its exercises).
"""
