/* placeholder: replaced by its owner */
#include "commands.h"
int cmd_serve(int argc, char **argv) { warnx_("serve: not implemented yet"); return EXIT_SOFTWARE; }
