"""MQTT between agents and the hub: topics, the paho client, publisher and hub ingest."""
