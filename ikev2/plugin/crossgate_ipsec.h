/*
 * Copyright (C) 2026 crossgate
 */

/**
 * @defgroup crossgate_ipsec crossgate_ipsec
 * @{ @ingroup crossgate
 */

#ifndef CROSSGATE_IPSEC_H_
#define CROSSGATE_IPSEC_H_

#include <library.h>
#include <kernel/kernel_ipsec.h>

typedef struct crossgate_ipsec_t crossgate_ipsec_t;

/**
 * kernel_ipsec_t that hands SAs and policies to crossgate-dataplane.
 */
struct crossgate_ipsec_t {

	/**
	 * Implements kernel_ipsec_t interface
	 */
	kernel_ipsec_t interface;
};

/**
 * Create the backend (uses the plugin's dataplane connection).
 */
crossgate_ipsec_t *crossgate_ipsec_create();

#endif /** CROSSGATE_IPSEC_H_ @}*/
