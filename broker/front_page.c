/*
 * sso-broker: the pages a person sees, rendered in one place.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Trust: every value shown is escaped here.
 */
#include "front_int.h"
