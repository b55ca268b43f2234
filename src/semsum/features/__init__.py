"""Feature extractors: GoogLeNet pool5, MLLM embeddings, caption embeddings; and their storage."""
