#include "bounce.h"
