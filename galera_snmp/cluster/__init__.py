"""What is about several nodes: the node set, sites, reading peers, the writer rule, and
whether the nodes that answer are one consistent cluster."""
