from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="galera-snmp",
    version="0.1.0",
    description="Galera cluster state for net-snmp (AgentX), Nagios/Icinga and keepalived",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="GPL-3.0-or-later",
    python_requires=">=3.11",
    packages=find_packages(include=["galera_snmp", "galera_snmp.*"]),
    install_requires=[
        "PyMySQL>=1.1,<2",
        "pysnmp>=7.1,<8",
        "cryptography>=41",  # pysnmp's AES privacy for SNMPv3 authPriv
        "pyagentx3==0.1.4",  # exact: the agent works around known bugs of this very version
        "nagiosplugin>=1.3.3,<2",
    ],
    extras_require={
        "test": ["pytest>=8", "pytest-timeout>=2.3", "hypothesis>=6.100", "ruff>=0.6", "pysmi>=1.5"],
    },
    entry_points={
        "console_scripts": [
            "galera-check=galera_snmp.cli.check:main",
            "galera-snmp=galera_snmp.cli.main:main",
            "galera-snmp-agent=galera_snmp.cli.agent:main",
            "galera-snmp-notify=galera_snmp.cli.notify:main",
            "check_galera=galera_snmp.cli.check_galera:main",
            "galera-init=galera_snmp.cli.init:main",
        ],
    },
    classifiers=[
        "Programming Language :: Python :: 3.11",
        "Topic :: System :: Monitoring",
        "Topic :: Database",
    ],
)
