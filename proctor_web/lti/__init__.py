"""LTI 1.3: our keys, the tool side (an LMS launches us) and the platform side (we launch
LTI proctoring tools)."""
