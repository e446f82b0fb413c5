#include "commands.h"
int cmd_parse(int argc, char **argv) { return 70; }
