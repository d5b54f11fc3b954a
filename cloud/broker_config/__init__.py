"""Broker security generated from the registry: Mosquitto's password file, ACL and config.

Modules, from the leaves up:

- :mod:`~cloud.broker_config.passwords`: Mosquitto 2's ``$7$`` PBKDF2-SHA512 password hash
  (stdlib only; the registry imports it to hash a password at the moment it is generated);
- :mod:`cloud.errors`: the exception tree (its ``BrokerConfigError`` branch);
- :mod:`~cloud.broker_config.accounts`: cloud service accounts (ingest, api) and their grants;
- :mod:`~cloud.broker_config.acl`, :mod:`~cloud.broker_config.conf`: the text of ``acl``,
  ``passwd`` and ``mosquitto.conf``;
- :mod:`~cloud.broker_config.files`: atomic 0600 writes under a lock;
- :mod:`~cloud.broker_config.reload`: finding the broker's process and sending it SIGHUP;
- :mod:`~cloud.broker_config.generate`: the registry snapshot → the three files.

Nothing is imported here, so that importing the hash module pulls in nothing else.
"""
