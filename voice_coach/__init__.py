"""voice-coach: an offline, hands-free voice coach for at-home back-pain care."""

__version__ = "0.1.0"
