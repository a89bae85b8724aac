"""``distil export``: a deployable ONNX folder of a classifier or a sentence encoder, checked against PyTorch."""
