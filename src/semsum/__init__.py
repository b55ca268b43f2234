"""semsum: video summarization with semantic embeddings from multimodal LLMs."""

__version__ = "0.1.0"
