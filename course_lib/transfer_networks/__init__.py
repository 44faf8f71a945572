"""Chapter 03's transfer networks: networks changed so that source knowledge reaches the target.

- ``channel_copying``: reuse conv kernels across input-channel counts (grey <-> RGB, N -> M,
  2-D -> 3-D), copy the other layers by name, report what was done to every layer;
- ``shared_embedding``: one embedding for source and target, CCSA-style pair losses;
- ``fusion``: a frozen source branch and a trainable target branch joined in a fusion layer;
- ``diagrams``: matplotlib pictures of the three architectures.
"""
