/* placeholder: replaced by its owner */
#include "commands.h"
int cmd_stats(int argc, char **argv) { warnx_("stats: not implemented yet"); return EXIT_SOFTWARE; }
