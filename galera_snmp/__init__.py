"""galera-snmp: Galera cluster state for net-snmp, Nagios/Icinga and keepalived."""

__version__ = "0.1.0"
