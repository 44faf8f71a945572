"""Chapter 08, your own images: a keras.applications backbone on a folder of photos.

The chapter's own pieces: ``experiments`` (registered with ``course_lib.experiments``),
``exercises`` (the checks of its exercises).
"""
