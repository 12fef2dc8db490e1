/*
 * Copyright (C) 2026 crossgate
 */

#include "crossgate_msg.h"

#include <string.h>

/*
 * Described in header
 */
void crossgate_msg_sa_id(struct cg_dp_sa_id *wire, kernel_ipsec_sa_id_t *id)
{
	crossgate_dp_addr_from_host(&wire->src, id->src);
	crossgate_dp_addr_from_host(&wire->dst, id->dst);
	wire->spi = id->spi;
	wire->proto = id->proto;
	wire->mark.value = id->mark.value;
	wire->mark.mask = id->mark.mask;
	wire->if_id = id->if_id;
}

/*
 * Described in header
 */
void crossgate_msg_ts(struct cg_dp_ts *wire, traffic_selector_t *ts)
{
	chunk_t from, to;
	uint8_t family;

	memset(wire, 0, sizeof(*wire));
	family = ts->get_type(ts) == TS_IPV4_ADDR_RANGE ? 4 : 6;
	from = ts->get_from_address(ts);
	to = ts->get_to_address(ts);
	wire->from.family = wire->to.family = family;
	memcpy(wire->from.addr, from.ptr, min(from.len, sizeof(wire->from.addr)));
	memcpy(wire->to.addr, to.ptr, min(to.len, sizeof(wire->to.addr)));
	wire->from_port = ts->get_from_port(ts);
	wire->to_port = ts->get_to_port(ts);
	wire->protocol = ts->get_protocol(ts);
}

/**
 * Append the traffic selectors of a list to a message being built
 */
static void append_ts(u_char **pos, linked_list_t *list)
{
	enumerator_t *enumerator;
	traffic_selector_t *ts;
	struct cg_dp_ts wire;

	if (!list)
	{
		return;
	}
	enumerator = list->create_enumerator(list);
	while (enumerator->enumerate(enumerator, &ts))
	{
		crossgate_msg_ts(&wire, ts);
		memcpy(*pos, &wire, sizeof(wire));
		*pos += sizeof(wire);
	}
	enumerator->destroy(enumerator);
}

/**
 * Whether this SA copies DSCP (outbound: inner to outer; inbound: outer to inner)
 */
static bool copy_dscp(kernel_ipsec_add_sa_t *data)
{
	switch (data->copy_dscp)
	{
		case DSCP_COPY_YES:
			return TRUE;
		case DSCP_COPY_OUT_ONLY:
			return !data->inbound;
		case DSCP_COPY_IN_ONLY:
			return data->inbound;
		case DSCP_COPY_NO:
		default:
			return FALSE;
	}
}

/*
 * Described in header
 */
chunk_t crossgate_msg_add_sa(kernel_ipsec_sa_id_t *id, kernel_ipsec_add_sa_t *data)
{
	struct cg_dp_add_sa sa;
	chunk_t msg;
	u_char *pos;

	/* the struct has a hole after the id: wipe it as well (it goes on the wire) */
	memset(&sa, 0, sizeof(sa));
	sa.reqid = data->reqid;
	sa.enc_alg = data->enc_alg;
	sa.int_alg = data->int_alg == AUTH_UNDEFINED ? 0 : data->int_alg;
	sa.enc_key_len = data->enc_key.len;
	sa.int_key_len = data->int_key.len;
	sa.replay_window = data->replay_window;
	sa.tfc = data->tfc;
	sa.mode = 1;
	sa.src_ts_count = data->src_ts ? data->src_ts->get_count(data->src_ts) : 0;
	sa.dst_ts_count = data->dst_ts ? data->dst_ts->get_count(data->dst_ts) : 0;
	sa.set_mark.value = data->mark.value;
	sa.set_mark.mask = data->mark.mask;
	crossgate_msg_sa_id(&sa.id, id);
	if (data->lifetime)
	{
		sa.lifetime.bytes_soft = data->lifetime->bytes.rekey;
		sa.lifetime.bytes_hard = data->lifetime->bytes.life;
		sa.lifetime.packets_soft = data->lifetime->packets.rekey;
		sa.lifetime.packets_hard = data->lifetime->packets.life;
		sa.lifetime.time_soft_s = data->lifetime->time.rekey;
		sa.lifetime.time_hard_s = data->lifetime->time.life;
	}
	sa.flags = (data->inbound ? CG_DP_SA_INBOUND : 0) |
			   (data->encap ? CG_DP_SA_ENCAP : 0) |
			   (data->esn ? CG_DP_SA_ESN : 0) |
			   (data->update ? CG_DP_SA_UPDATE : 0) |
			   (data->initiator ? CG_DP_SA_INITIATOR : 0) |
			   (data->copy_df ? CG_DP_SA_COPY_DF : 0) |
			   (data->copy_ecn ? CG_DP_SA_COPY_ECN : 0) |
			   (copy_dscp(data) ? CG_DP_SA_COPY_DSCP : 0);

	msg = chunk_alloc(sizeof(sa) + data->enc_key.len + data->int_key.len +
					  (sa.src_ts_count + sa.dst_ts_count) * sizeof(struct cg_dp_ts));
	pos = msg.ptr;
	memcpy(pos, &sa, sizeof(sa));
	pos += sizeof(sa);
	memcpy(pos, data->enc_key.ptr, data->enc_key.len);
	pos += data->enc_key.len;
	memcpy(pos, data->int_key.ptr, data->int_key.len);
	pos += data->int_key.len;
	append_ts(&pos, data->src_ts);
	append_ts(&pos, data->dst_ts);
	return msg;
}

/**
 * Priority of a policy, lower is more specific (like kernel-netlink's)
 */
static uint32_t policy_priority(kernel_ipsec_policy_id_t *id,
								kernel_ipsec_manage_policy_t *data)
{
	uint32_t prio;
	uint8_t smask = 0, dmask = 0;
	host_t *net;

	if (data->manual_prio)
	{
		return data->manual_prio;
	}
	switch (data->prio)
	{
		case POLICY_PRIORITY_FALLBACK:
			prio = 500000;
			break;
		case POLICY_PRIORITY_ROUTED:
			prio = 400000;
			break;
		case POLICY_PRIORITY_DEFAULT:
			prio = 300000;
			break;
		case POLICY_PRIORITY_PASS:
		default:
			prio = 200000;
			break;
	}
	/* to_subnet() always returns the enclosing subnet */
	id->src_ts->to_subnet(id->src_ts, &net, &smask);
	DESTROY_IF(net);
	id->dst_ts->to_subnet(id->dst_ts, &net, &dmask);
	DESTROY_IF(net);
	/* longer prefixes first, then port and protocol restrictions */
	prio -= (dmask + smask) * 256;
	prio -= id->src_ts->get_protocol(id->src_ts) ? 2 : 0;
	prio -= id->src_ts->get_from_port(id->src_ts) ||
			id->src_ts->get_to_port(id->src_ts) != 0xffff ? 1 : 0;
	prio -= id->dst_ts->get_from_port(id->dst_ts) ||
			id->dst_ts->get_to_port(id->dst_ts) != 0xffff ? 1 : 0;
	return prio;
}

/*
 * Described in header
 */
void crossgate_msg_policy(struct cg_dp_policy *wire, kernel_ipsec_policy_id_t *id,
						   kernel_ipsec_manage_policy_t *data)
{
	memset(wire, 0, sizeof(*wire));
	crossgate_msg_ts(&wire->src_ts, id->src_ts);
	crossgate_msg_ts(&wire->dst_ts, id->dst_ts);
	wire->mark.value = id->mark.value;
	wire->mark.mask = id->mark.mask;
	wire->if_id = id->if_id;
	switch (id->dir)
	{
		case POLICY_IN:
			wire->dir = CG_DP_DIR_IN;
			break;
		case POLICY_OUT:
			wire->dir = CG_DP_DIR_OUT;
			break;
		case POLICY_FWD:
		default:
			wire->dir = CG_DP_DIR_FWD;
			break;
	}
	if (!data)
	{
		return;
	}
	crossgate_dp_addr_from_host(&wire->src, data->src);
	crossgate_dp_addr_from_host(&wire->dst, data->dst);
	switch (data->type)
	{
		case POLICY_PASS:
			wire->type = CG_DP_POLICY_PASS;
			break;
		case POLICY_DROP:
			wire->type = CG_DP_POLICY_DROP;
			break;
		case POLICY_IPSEC:
		default:
			wire->type = CG_DP_POLICY_IPSEC;
			break;
	}
	wire->prio_class = data->prio;
	wire->priority = policy_priority(id, data);
	if (data->sa)
	{
		wire->reqid = data->sa->reqid;
		wire->spi = data->sa->esp.use ? data->sa->esp.spi : 0;
	}
}
