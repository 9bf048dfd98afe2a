// Every core file and every user of the core reads and writes JSON through TollgateJSON.
@_exported import TollgateJSON
