"""Street lighting at the edge: programs run locally, overrides, local rules, actuators.

- :mod:`edge.lighting.schedule` evaluates a ProgramSet for a group at a moment (pure);
- :mod:`edge.lighting.executor` decides each group's level and drives its actuators
  (:mod:`edge.lighting.commanded` has what it commands and the ``lighting`` reading);
- :mod:`edge.lighting.overrides` and :mod:`edge.lighting.devices` hold group and single-gear
  overrides; :mod:`edge.lighting.gear` addresses one DALI gear;
- :mod:`edge.lighting.state` persists the last program and the overrides;
- :mod:`edge.lighting.programs` takes ProgramSets from the ``program`` topic;
- :mod:`edge.lighting.handlers` registers the ``set_level`` and ``clear_override`` commands;
- :mod:`edge.lighting.local_rules` raises a group's level from a loop station on this gateway;
- :mod:`edge.lighting.runtime` builds and runs all of it inside the agent;
- ``edge.lighting.actuators``, ``edge.lighting.dali_*``, ``monitor`` and ``faults_*`` are the
  back-ends (DALI, contactor, setpoint) and the fault monitor.
"""
