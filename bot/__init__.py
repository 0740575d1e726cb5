"""careerbot: a career advisor for medical and health services managers."""

import os

# numpy's OpenBLAS would start a thread per core for the classifier's small products; on a
# shared 2-core machine they wait on each other (measured in README.md, "Understanding,
# semantic stage"). Set before numpy is first imported; a deployment can still override it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
