"""The course's ipywidgets demos, one module per demo.

Each demo keeps its logic in a plain state object that tests drive without a
browser; the widget only draws that state and forwards clicks to it.
"""
