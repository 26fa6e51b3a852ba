"""The example suite's policy, with where each threshold comes from."""

# Round to nearest: a value in range moves by at most half a quantization step when it is
# quantized and dequantized (torch.quantize_per_tensor rounds to nearest even).
ROUND_TRIP_STEPS = (0.5, "round to nearest: at most half a quantization step")
