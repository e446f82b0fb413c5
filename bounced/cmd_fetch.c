/* placeholder: replaced by its owner */
#include "commands.h"
int cmd_fetch(int argc, char **argv) { warnx_("fetch: not implemented yet"); return EXIT_SOFTWARE; }
