"""Captioning building blocks shared by the features, model and predict stages.

`text` and `bleu` are pure Python (no TensorFlow) so the engine's tests and the consolidate stage
can use them; `model`, `features` and `decode` import TensorFlow/Keras and are imported only by the
stage processes that need them.
"""
