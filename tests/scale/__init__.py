"""Scale-out: shard leases, several Orbit processes on PostgreSQL, failover and outages."""
