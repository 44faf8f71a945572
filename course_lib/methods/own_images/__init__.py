"""Chapter 08: transfer learning on a folder of your own images, also a command line.

================  ============================================================
module            what it does
================  ============================================================
``folder``        checks a folder of class sub-folders: decodes every file as
                  training will, skips the rest with a reason, bounds sizes
``samples``       the course's sample folder (crops of colour photos), written
                  whole or not at all, never over a folder it did not make
``pipeline``      the split (train, validation, test) and the ``tf.data``
                  pipeline: parallel decoding, cache, shuffle, batch, prefetch
``backbone``      the ``keras.applications`` backbones and their blocks
``weights``       their ImageNet weights: Keras's cache or one download, always
                  checked against the published hash; honest offline fallback
``download``      one download with a deadline, atomic, hash-checked
``recipe``        the transfer model, the two stages, predictions, export
``distribution``  ``tf.distribute`` strategies, batch and learning-rate
                  scaling, mixed precision
``train``         ``train_folder``: the whole recipe on a folder (the command)
``outputs``       a run's folder: model, report, figures, written atomically
``show``          the chapter's plots
``cli``           ``python -m course_lib.methods.own_images`` (train, check, bench,
                  fetch-weights)
================  ============================================================
"""
