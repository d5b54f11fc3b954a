"""``eclor edge provision``: from an empty cabinet to a gateway whose readings the cloud stores.

Modules, in the order the flow (:mod:`~edge.provision.flow`) uses them:

- :mod:`~edge.provision.answers`: the answers file, flags and defaults; what is missing;
- :mod:`~edge.provision.prompts`: interactive questions and the review of found devices;
- :mod:`~edge.provision.cloud_api`: the cloud's API over plain HTTP (check, enrol, clock);
- :mod:`~edge.provision.discover`: the scan (:mod:`edge.scan`) over the chosen buses;
- :mod:`~edge.provision.selection`: proposals for what was found (ids, existing entries);
- :mod:`~edge.provision.merge`: the new config merged with the existing one (rules there);
- :mod:`~edge.provision.writer`: atomic, validated writes; the 0600 password file; backups;
- :mod:`~edge.provision.selftest`: every device read, the agent run until the cloud acks;
- :mod:`~edge.provision.report`: the verdict, the printed report and its JSON;
- :mod:`~edge.provision.command`: flags to answers, exit codes (used by ``edge/cli.py``);
- :mod:`~edge.errors`: the exception tree.
"""
