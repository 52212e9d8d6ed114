"""galera-snmp-agent: the publisher builds the node's report (publisher.py); the service starts
the threads that feed and serve it, answers the AgentX master, and stops them (service.py)."""
