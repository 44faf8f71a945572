"""Chapter 06: transfer learning on a folder of your own images.

=============  ==============================================================
module         what it does
=============  ==============================================================
``folder``     the course's sample folder (crops of colour photos), checking a
               folder (skips unreadable files, with a count) and loading it
               with ``keras.utils.image_dataset_from_directory``
``backbone``   the ``keras.applications`` backbones, their ImageNet weights
               (Keras's cache, or one download with a short timeout) and the
               offline fallback: random initialisation, labelled "not transfer"
``recipe``     the transfer model, the two-stage recipe (head, then the top
               blocks), predictions, the most confident mistakes, export
``show``       the chapter's plots: class grid, two-stage curves, confusion
               matrix, mistakes
=============  ==============================================================
"""
