// Every core file and every user of the core shares JSON, usage and ABI helpers with plugins.
@_exported import TollgateShared
