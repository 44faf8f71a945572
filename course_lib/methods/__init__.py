"""The techniques the course teaches, one module each (the chapter that teaches it in brackets).

=======================  ==============================================================
``feature_extraction``   a frozen extractor's features and small heads on them (01)
``fine_tuning``          what to unfreeze: the strategies and their baselines (02)
``learning_rates``       a learning rate per group of layers; gradual unfreezing (03)
``batchnorm``            BatchNorm's statistics, freezing it right, AdaBN (03, 05)
``parameter_efficient``  LP-FT, BitFit, LoRA (Keras's enable_lora), adapters; what each stores (09)
``channel_copying``      reusing kernels across input-channel counts (04)
``shared_embedding``     one embedding for source and target, CCSA (04)
``fusion``               a frozen source branch and a target branch joined (04)
``self_training``        pseudo-labels on the unlabelled target (05)
``source_free``          adapting without the source data: information maximisation (05)
``adaptation``           DANN, Deep CORAL, MMD, the proxy A-distance (06)
``transferability``      when a source helps: probes, transplanted layers (07)
``target_data``          the target's own problems: augmentation, imbalance, labels (07)
``own_images``           a folder of your own photos, from the folder to an exported model; a command (08)
``text_transfer``        a small Transformer on text: masked-token pretraining, fine-tuning, LoRA (09)
=======================  ==============================================================

Every method that needs its own training step is a ``keras.Model`` subclass overriding
``train_step``, trained by ``course_lib.core.training.fit`` like any other model.
"""
