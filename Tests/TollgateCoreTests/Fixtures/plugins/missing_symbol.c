/*
 * Fixture: a well-formed shared object that does NOT export tollgate_plugin_entry.
 * It exports other functions (one with a near-miss name), so dlopen() succeeds and only the
 * dlsym() of TOLLGATE_PLUGIN_ENTRY_SYMBOL fails. The loader must refuse it with a clear error.
 */
#include "tollgate_plugin.h"

/* A near miss: the loader must look up the exact symbol name. */
const tollgate_type_plugin_descriptor *tollgate_plugin_entry_v2(void) { return 0; }

int tollgate_fixture_answer(void) { return 42; }
