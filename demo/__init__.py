"""``eclor demo``: the whole chain on one machine.

The one package that imports ``simulators``, ``edge`` and ``cloud`` together: it wires a simulated
territory to one edge agent per simulated gateway, a broker, and the cloud.
"""
