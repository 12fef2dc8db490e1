/*
 * Copyright (C) 2026 crossgate
 */

/**
 * @defgroup crossgate_msg crossgate_msg
 * @{ @ingroup crossgate
 *
 * Conversion of charon's kernel_ipsec_t arguments to dp_proto.h messages.
 */

#ifndef CROSSGATE_MSG_H_
#define CROSSGATE_MSG_H_

#include <library.h>
#include <kernel/kernel_ipsec.h>

#include "crossgate_dp.h"

/**
 * Fill the wire SA id.
 */
void crossgate_msg_sa_id(struct cg_dp_sa_id *wire, kernel_ipsec_sa_id_t *id);

/**
 * Fill a wire traffic selector.
 */
void crossgate_msg_ts(struct cg_dp_ts *wire, traffic_selector_t *ts);

/**
 * Build the ADD_SA body: struct cg_dp_add_sa, the keys, the traffic selectors.
 *
 * @return			allocated body, holds keys: the caller wipes it (chunk_clear)
 */
chunk_t crossgate_msg_add_sa(kernel_ipsec_sa_id_t *id, kernel_ipsec_add_sa_t *data);

/**
 * Fill the wire policy; data may be NULL (QUERY_POLICY).
 */
void crossgate_msg_policy(struct cg_dp_policy *wire, kernel_ipsec_policy_id_t *id,
						  kernel_ipsec_manage_policy_t *data);

#endif /** CROSSGATE_MSG_H_ @}*/
