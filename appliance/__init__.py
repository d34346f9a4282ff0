"""Hushbox: a baby-cry detector appliance.

Data flows one way: capture -> windows -> features -> score -> vote -> player.
"""

__version__ = "0.1.0"
