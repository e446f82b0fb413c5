/* placeholder: replaced by its owner */
#include "commands.h"
int cmd_db(int argc, char **argv) { warnx_("db: not implemented yet"); return EXIT_SOFTWARE; }
