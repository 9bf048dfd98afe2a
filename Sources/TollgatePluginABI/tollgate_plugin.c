/* The ABI is header-only; SwiftPM needs one source file to build the C target. */
#include "tollgate_plugin.h"

/* Lets the core and tests read the header's version without a Swift macro import. */
const uint16_t tollgate_abi_version_major = TOLLGATE_ABI_VERSION_MAJOR;
const uint16_t tollgate_abi_version_minor = TOLLGATE_ABI_VERSION_MINOR;
