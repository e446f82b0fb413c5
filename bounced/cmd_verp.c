/* placeholder: replaced by its owner */
#include "commands.h"
int cmd_verp(int argc, char **argv) { warnx_("verp: not implemented yet"); return EXIT_SOFTWARE; }
