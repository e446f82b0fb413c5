/* placeholder: replaced by its owner */
#include "commands.h"
int cmd_ingest(int argc, char **argv) { warnx_("ingest: not implemented yet"); return EXIT_SOFTWARE; }
