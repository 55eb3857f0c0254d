"""posture-watch: notices a sustained hunch at the desk and suggests a fix before it hurts."""

__version__ = "0.1.0"
