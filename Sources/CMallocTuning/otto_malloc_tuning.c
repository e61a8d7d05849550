// The tuning functions are inline in the header; this file gives the C target a source file.
#include "otto_malloc_tuning.h"
