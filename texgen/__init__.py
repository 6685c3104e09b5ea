"""texgen: texture and heightmap generator for game developers."""

__version__ = "0.1.0"
