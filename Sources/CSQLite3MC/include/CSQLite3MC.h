// Umbrella header of the CSQLite3MC target. The sqlite3mc sources (sqlite3mc.c, sqlite3.h,
// sqlite3mc.h) are placed here by scripts/setup-sqlite3mc.sh and are not committed.
// Swift modules link this target but do not import it: GRDB brings its own sqlite3.h.
#include "sqlite3mc.h"
