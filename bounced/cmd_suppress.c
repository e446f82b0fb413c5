/* placeholder: replaced by its owner */
#include "commands.h"
int cmd_suppress(int argc, char **argv) { warnx_("suppress: not implemented yet"); return EXIT_SOFTWARE; }
