"""careerbot: a career advisor for medical and health services managers."""

__version__ = "0.1.0"
