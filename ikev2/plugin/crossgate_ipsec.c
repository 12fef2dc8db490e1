/*
 * Copyright (C) 2026 crossgate
 */

#include "crossgate_ipsec.h"
#include "crossgate_plugin.h"
#include "crossgate_msg.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include <daemon.h>
#include <threading/mutex.h>
#include <collections/linked_list.h>

typedef struct private_crossgate_ipsec_t private_crossgate_ipsec_t;

/**
 * An SA installed in the dataplane, remembered to re-create it after a dataplane restart
 */
typedef struct {
	/** SPI, network order */
	uint32_t spi;
	/** protocol */
	uint8_t proto;
	/** destination */
	host_t *dst;
	/** inbound SA */
	bool inbound;
	/** reqid */
	uint32_t reqid;
	/** connection generation the SA was installed in */
	u_int generation;
} installed_sa_t;

struct private_crossgate_ipsec_t {

	/** public interface */
	crossgate_ipsec_t public;

	/** listener on the dataplane connection */
	crossgate_dp_listener_t listener;

	/** dataplane connection */
	crossgate_dp_t *dp;

	/** installed_sa_t in the dataplane */
	linked_list_t *sas;

	/** installed_sa_t lost with a dataplane connection, expired on reconnect */
	linked_list_t *lost;

	/** protects sas and lost */
	mutex_t *mutex;
};

/**
 * The backend a listener is embedded in
 */
static private_crossgate_ipsec_t *from_listener(crossgate_dp_listener_t *listener)
{
	return (private_crossgate_ipsec_t*)((char*)listener -
									offsetof(private_crossgate_ipsec_t, listener));
}

static void installed_sa_destroy(installed_sa_t *sa)
{
	sa->dst->destroy(sa->dst);
	free(sa);
}

/**
 * Remove the tracked SA (spi, proto, dst); caller holds the mutex
 */
static void untrack_locked(private_crossgate_ipsec_t *this, uint32_t spi,
						   uint8_t proto, host_t *dst)
{
	enumerator_t *enumerator;
	installed_sa_t *sa;
	linked_list_t *lists[] = { this->sas, this->lost };
	int i;

	for (i = 0; i < countof(lists); i++)
	{
		enumerator = lists[i]->create_enumerator(lists[i]);
		while (enumerator->enumerate(enumerator, &sa))
		{
			if (sa->spi == spi && sa->proto == proto &&
				sa->dst->ip_equals(sa->dst, dst))
			{
				lists[i]->remove_at(lists[i], enumerator);
				installed_sa_destroy(sa);
			}
		}
		enumerator->destroy(enumerator);
	}
}

METHOD(kernel_ipsec_t, get_features, kernel_feature_t,
	private_crossgate_ipsec_t *this)
{
	return KERNEL_REQUIRE_UDP_ENCAPSULATION | KERNEL_ESP_V3_TFC;
}

METHOD(kernel_ipsec_t, get_spi, status_t,
	private_crossgate_ipsec_t *this, host_t *src, host_t *dst,
	uint8_t protocol, uint32_t *spi)
{
	struct cg_dp_get_spi req = {
		.proto = protocol,
	};
	chunk_t reply = chunk_empty;
	status_t status;

	crossgate_dp_addr_from_host(&req.src, src);
	crossgate_dp_addr_from_host(&req.dst, dst);
	status = this->dp->request(this->dp, CG_DP_GET_SPI, chunk_from_thing(req),
							   &reply, NULL);
	if (status == SUCCESS && reply.len >= sizeof(uint32_t) &&
		memcpy(spi, reply.ptr, sizeof(uint32_t)) && *spi)
	{
		DBG2(DBG_KNL, "[crossgate] got SPI %.8x", ntohl(*spi));
	}
	else
	{
		DBG1(DBG_KNL, "[crossgate] unable to get an SPI from the dataplane");
		status = FAILED;
	}
	chunk_free(&reply);
	return status;
}

METHOD(kernel_ipsec_t, get_cpi, status_t,
	private_crossgate_ipsec_t *this, host_t *src, host_t *dst,
	uint16_t *cpi)
{
	return NOT_SUPPORTED;
}

METHOD(kernel_ipsec_t, add_sa, status_t,
	private_crossgate_ipsec_t *this, kernel_ipsec_sa_id_t *id,
	kernel_ipsec_add_sa_t *data)
{
	installed_sa_t *sa;
	chunk_t msg;
	status_t status;
	u_int generation;
	int err;

	if (data->mode != MODE_TUNNEL || data->ipcomp != IPCOMP_NONE ||
		id->proto != IPPROTO_ESP)
	{
		DBG1(DBG_KNL, "[crossgate] only ESP tunnel mode without IPComp is supported");
		return NOT_SUPPORTED;
	}
	if (data->enc_key.len > CG_DP_MAX_KEY || data->int_key.len > CG_DP_MAX_KEY)
	{
		DBG1(DBG_KNL, "[crossgate] key too long for the dataplane protocol");
		return NOT_SUPPORTED;
	}
	msg = crossgate_msg_add_sa(id, data);
	/* read before the request: if the connection changes in between, the SA counts as lost
	 * with the older connection (a needless re-create at worst, never a missed one) */
	generation = this->dp->get_generation(this->dp);
	status = this->dp->request(this->dp, CG_DP_ADD_SA, msg, NULL, &err);
	chunk_clear(&msg);
	if (status != SUCCESS)
	{
		DBG1(DBG_KNL, "[crossgate] adding SAD entry with SPI %.8x failed: %s",
			 ntohl(id->spi), strerror(err));
		return FAILED;
	}
	DBG2(DBG_KNL, "[crossgate] added %s SAD entry with SPI %.8x (%H === %H)",
		 data->inbound ? "inbound" : "outbound", ntohl(id->spi), id->src, id->dst);
	INIT(sa,
		.spi = id->spi,
		.proto = id->proto,
		.dst = id->dst->clone(id->dst),
		.inbound = data->inbound,
		.reqid = data->reqid,
		.generation = generation,
	);
	this->mutex->lock(this->mutex);
	untrack_locked(this, id->spi, id->proto, id->dst);
	this->sas->insert_last(this->sas, sa);
	this->mutex->unlock(this->mutex);
	return SUCCESS;
}

METHOD(kernel_ipsec_t, update_sa, status_t,
	private_crossgate_ipsec_t *this, kernel_ipsec_sa_id_t *id,
	kernel_ipsec_update_sa_t *data)
{
	struct cg_dp_update_sa req = {
		.flags = data->new_encap ? CG_DP_SA_ENCAP : 0,
		.new_reqid = data->new_reqid,
	};
	enumerator_t *enumerator;
	installed_sa_t *sa;
	status_t status;
	int err;

	crossgate_msg_sa_id(&req.id, id);
	crossgate_dp_addr_from_host(&req.new_src, data->new_src);
	crossgate_dp_addr_from_host(&req.new_dst, data->new_dst);
	status = this->dp->request(this->dp, CG_DP_UPDATE_SA, chunk_from_thing(req),
							   NULL, &err);
	if (status != SUCCESS)
	{
		DBG1(DBG_KNL, "[crossgate] updating SAD entry with SPI %.8x failed: %s",
			 ntohl(id->spi), strerror(err));
		return status == NOT_FOUND ? NOT_FOUND : FAILED;
	}
	this->mutex->lock(this->mutex);
	enumerator = this->sas->create_enumerator(this->sas);
	while (enumerator->enumerate(enumerator, &sa))
	{
		if (sa->spi == id->spi && sa->proto == id->proto &&
			sa->dst->ip_equals(sa->dst, id->dst))
		{
			sa->dst->destroy(sa->dst);
			sa->dst = data->new_dst->clone(data->new_dst);
			if (data->new_reqid)
			{
				sa->reqid = data->new_reqid;
			}
			break;
		}
	}
	enumerator->destroy(enumerator);
	this->mutex->unlock(this->mutex);
	DBG2(DBG_KNL, "[crossgate] updated SAD entry with SPI %.8x to %H === %H",
		 ntohl(id->spi), data->new_src, data->new_dst);
	return SUCCESS;
}

METHOD(kernel_ipsec_t, query_sa, status_t,
	private_crossgate_ipsec_t *this, kernel_ipsec_sa_id_t *id,
	kernel_ipsec_query_sa_t *data, uint64_t *bytes, uint64_t *packets,
	time_t *time)
{
	struct cg_dp_query_sa req = {};
	struct cg_dp_sa_stats stats;
	chunk_t reply = chunk_empty;
	status_t status;

	crossgate_msg_sa_id(&req.id, id);
	status = this->dp->request(this->dp, CG_DP_QUERY_SA, chunk_from_thing(req),
							   &reply, NULL);
	if (status != SUCCESS || reply.len < sizeof(stats))
	{
		chunk_free(&reply);
		return status == NOT_FOUND ? NOT_FOUND : FAILED;
	}
	memcpy(&stats, reply.ptr, sizeof(stats));
	chunk_free(&reply);
	if (bytes)
	{
		*bytes = stats.bytes;
	}
	if (packets)
	{
		*packets = stats.packets;
	}
	if (time)
	{
		*time = stats.use_time;
	}
	return SUCCESS;
}

METHOD(kernel_ipsec_t, del_sa, status_t,
	private_crossgate_ipsec_t *this, kernel_ipsec_sa_id_t *id,
	kernel_ipsec_del_sa_t *data)
{
	struct cg_dp_del_sa req = {};
	status_t status;
	int err;

	this->mutex->lock(this->mutex);
	untrack_locked(this, id->spi, id->proto, id->dst);
	this->mutex->unlock(this->mutex);

	crossgate_msg_sa_id(&req.id, id);
	status = this->dp->request(this->dp, CG_DP_DEL_SA, chunk_from_thing(req),
							   NULL, &err);
	if (status == FAILED && err == ENOTCONN)
	{	/* the dataplane dropped every SA with the connection */
		return SUCCESS;
	}
	if (status == FAILED)
	{
		DBG1(DBG_KNL, "[crossgate] deleting SAD entry with SPI %.8x failed: %s",
			 ntohl(id->spi), strerror(err));
	}
	else
	{
		DBG2(DBG_KNL, "[crossgate] deleted SAD entry with SPI %.8x", ntohl(id->spi));
	}
	return status;
}

/**
 * Send a FLUSH: the dataplane drops all SAs and policies (charon 5.9.8 itself never
 * calls flush_sas/flush_policies; they exist for other plugins)
 */
static status_t flush(private_crossgate_ipsec_t *this)
{
	status_t status;
	int err;

	this->mutex->lock(this->mutex);
	this->sas->destroy_function(this->sas, (void*)installed_sa_destroy);
	this->sas = linked_list_create();
	this->lost->destroy_function(this->lost, (void*)installed_sa_destroy);
	this->lost = linked_list_create();
	this->mutex->unlock(this->mutex);

	status = this->dp->request(this->dp, CG_DP_FLUSH, chunk_empty, NULL, &err);
	if (status == FAILED && err == ENOTCONN)
	{
		return SUCCESS;
	}
	return status == SUCCESS ? SUCCESS : FAILED;
}

METHOD(kernel_ipsec_t, flush_sas, status_t,
	private_crossgate_ipsec_t *this)
{
	return flush(this);
}

/**
 * Send a policy request
 */
static status_t manage_policy(private_crossgate_ipsec_t *this, uint16_t type,
							  kernel_ipsec_policy_id_t *id,
							  kernel_ipsec_manage_policy_t *data)
{
	struct cg_dp_policy req;
	status_t status;
	int err;

	crossgate_msg_policy(&req, id, data);
	status = this->dp->request(this->dp, type, chunk_from_thing(req), NULL, &err);
	if (type == CG_DP_DEL_POLICY && status == FAILED && err == ENOTCONN)
	{	/* the dataplane dropped every policy with the connection */
		return SUCCESS;
	}
	if (type == CG_DP_DEL_POLICY && status == NOT_FOUND)
	{	/* e.g. lost in a dataplane restart */
		DBG2(DBG_KNL, "[crossgate] policy %R === %R %N already gone", id->src_ts,
			 id->dst_ts, policy_dir_names, id->dir);
		return NOT_FOUND;
	}
	if (status != SUCCESS)
	{
		DBG1(DBG_KNL, "[crossgate] %s policy %R === %R %N failed: %s",
			 type == CG_DP_ADD_POLICY ? "adding" : "deleting", id->src_ts,
			 id->dst_ts, policy_dir_names, id->dir, strerror(err));
		return status == NOT_FOUND ? NOT_FOUND : FAILED;
	}
	DBG2(DBG_KNL, "[crossgate] %s policy %R === %R %N",
		 type == CG_DP_ADD_POLICY ? "added" : "deleted", id->src_ts, id->dst_ts,
		 policy_dir_names, id->dir);
	return SUCCESS;
}

METHOD(kernel_ipsec_t, add_policy, status_t,
	private_crossgate_ipsec_t *this, kernel_ipsec_policy_id_t *id,
	kernel_ipsec_manage_policy_t *data)
{
	return manage_policy(this, CG_DP_ADD_POLICY, id, data);
}

METHOD(kernel_ipsec_t, query_policy, status_t,
	private_crossgate_ipsec_t *this, kernel_ipsec_policy_id_t *id,
	kernel_ipsec_query_policy_t *data, time_t *use_time)
{
	struct cg_dp_policy req;
	struct cg_dp_policy_stats stats;
	chunk_t reply = chunk_empty;
	status_t status;

	crossgate_msg_policy(&req, id, NULL);
	status = this->dp->request(this->dp, CG_DP_QUERY_POLICY, chunk_from_thing(req),
							   &reply, NULL);
	if (status != SUCCESS || reply.len < sizeof(stats))
	{
		chunk_free(&reply);
		return status == NOT_FOUND ? NOT_FOUND : FAILED;
	}
	memcpy(&stats, reply.ptr, sizeof(stats));
	chunk_free(&reply);
	*use_time = stats.use_time;
	return SUCCESS;
}

METHOD(kernel_ipsec_t, del_policy, status_t,
	private_crossgate_ipsec_t *this, kernel_ipsec_policy_id_t *id,
	kernel_ipsec_manage_policy_t *data)
{
	return manage_policy(this, CG_DP_DEL_POLICY, id, data);
}

METHOD(kernel_ipsec_t, flush_policies, status_t,
	private_crossgate_ipsec_t *this)
{
	return flush(this);
}

METHOD(kernel_ipsec_t, bypass_socket, bool,
	private_crossgate_ipsec_t *this, int fd, int family)
{
	/* the dataplane exempts IKE on its own addresses from policy matching */
	return TRUE;
}

METHOD(kernel_ipsec_t, enable_udp_decap, bool,
	private_crossgate_ipsec_t *this, int fd, int family, uint16_t port)
{
	/* the dataplane owns the NAT-T port */
	return TRUE;
}

/**
 * Handle EXPIRE and MAPPING events
 */
static void on_event(crossgate_dp_listener_t *listener, uint16_t type, chunk_t body)
{
	struct cg_dp_ev_expire expire;
	struct cg_dp_ev_mapping mapping;
	host_t *dst, *remote;

	switch (type)
	{
		case CG_DP_EV_EXPIRE:
			if (body.len < sizeof(expire))
			{
				break;
			}
			memcpy(&expire, body.ptr, sizeof(expire));
			dst = crossgate_dp_addr_to_host(&expire.dst);
			if (!dst)
			{
				DBG1(DBG_KNL, "[crossgate] EXPIRE with an invalid address");
				break;
			}
			DBG1(DBG_KNL, "[crossgate] %s expire for SA with SPI %.8x",
				 expire.hard ? "hard" : "soft", ntohl(expire.spi));
			charon->kernel->expire(charon->kernel, expire.proto, expire.spi, dst,
								   expire.hard != 0);
			dst->destroy(dst);
			break;
		case CG_DP_EV_MAPPING:
			if (body.len < sizeof(mapping))
			{
				break;
			}
			memcpy(&mapping, body.ptr, sizeof(mapping));
			dst = crossgate_dp_addr_to_host(&mapping.dst);
			remote = crossgate_dp_addr_to_host(&mapping.new_remote);
			if (dst && remote)
			{
				DBG1(DBG_KNL, "[crossgate] NAT mappings of ESP CHILD_SA with SPI %.8x "
					 "changed, peer is now %#H", ntohl(mapping.spi), remote);
				charon->kernel->mapping(charon->kernel, mapping.proto, mapping.spi,
										dst, remote);
			}
			DESTROY_IF(dst);
			DESTROY_IF(remote);
			break;
		default:
			break;
	}
}

/**
 * The connection was lost: every installed SA is gone in the dataplane
 */
static void on_disconnected(crossgate_dp_listener_t *listener)
{
	private_crossgate_ipsec_t *this = from_listener(listener);
	installed_sa_t *sa;

	this->mutex->lock(this->mutex);
	while (this->sas->remove_first(this->sas, (void**)&sa) == SUCCESS)
	{
		this->lost->insert_last(this->lost, sa);
	}
	DBG1(DBG_KNL, "[crossgate] dataplane gone, %d SAs lost", this->lost->get_count(this->lost));
	this->mutex->unlock(this->mutex);
}

/**
 * Whether an inbound SA with the given reqid is in the list
 */
static bool has_inbound(linked_list_t *list, uint32_t reqid)
{
	enumerator_t *enumerator;
	installed_sa_t *sa;
	bool found = FALSE;

	enumerator = list->create_enumerator(list);
	while (enumerator->enumerate(enumerator, &sa))
	{
		if (sa->inbound && sa->reqid == reqid)
		{
			found = TRUE;
			break;
		}
	}
	enumerator->destroy(enumerator);
	return found;
}

/**
 * (Re-)connected: charon re-creates the CHILD_SAs the old dataplane had
 */
static void on_connected(crossgate_dp_listener_t *listener)
{
	private_crossgate_ipsec_t *this = from_listener(listener);
	enumerator_t *enumerator;
	linked_list_t *lost;
	installed_sa_t *sa;
	u_int generation;

	generation = this->dp->get_generation(this->dp);
	this->mutex->lock(this->mutex);
	lost = this->lost;
	this->lost = linked_list_create();
	/* SAs whose ADD_SA completed on an older connection while it went down */
	enumerator = this->sas->create_enumerator(this->sas);
	while (enumerator->enumerate(enumerator, &sa))
	{
		if (sa->generation != generation)
		{
			this->sas->remove_at(this->sas, enumerator);
			lost->insert_last(lost, sa);
		}
	}
	enumerator->destroy(enumerator);
	this->mutex->unlock(this->mutex);

	/* one hard expire per CHILD_SA: the inbound SA, or the outbound one if
	 * the inbound SA is unknown */
	while (lost->remove_first(lost, (void**)&sa) == SUCCESS)
	{
		if (sa->inbound || !has_inbound(lost, sa->reqid))
		{
			DBG1(DBG_KNL, "[crossgate] raising hard expire for SA with SPI %.8x "
				 "lost in a dataplane restart", ntohl(sa->spi));
			charon->kernel->expire(charon->kernel, sa->proto, sa->spi, sa->dst, TRUE);
		}
		installed_sa_destroy(sa);
	}
	lost->destroy(lost);
}

METHOD(kernel_ipsec_t, destroy, void,
	private_crossgate_ipsec_t *this)
{
	this->dp->remove_listener(this->dp, &this->listener);
	this->sas->destroy_function(this->sas, (void*)installed_sa_destroy);
	this->lost->destroy_function(this->lost, (void*)installed_sa_destroy);
	this->mutex->destroy(this->mutex);
	free(this);
}

/*
 * Described in header
 */
crossgate_ipsec_t *crossgate_ipsec_create()
{
	private_crossgate_ipsec_t *this;
	crossgate_dp_t *dp = crossgate_plugin_get_dp();

	if (!dp)
	{
		return NULL;
	}
	INIT(this,
		.public = {
			.interface = {
				.get_features = _get_features,
				.get_spi = _get_spi,
				.get_cpi = _get_cpi,
				.add_sa = _add_sa,
				.update_sa = _update_sa,
				.query_sa = _query_sa,
				.del_sa = _del_sa,
				.flush_sas = _flush_sas,
				.add_policy = _add_policy,
				.query_policy = _query_policy,
				.del_policy = _del_policy,
				.flush_policies = _flush_policies,
				.bypass_socket = _bypass_socket,
				.enable_udp_decap = _enable_udp_decap,
				.destroy = _destroy,
			},
		},
		.listener = {
			.event = on_event,
			.connected = on_connected,
			.disconnected = on_disconnected,
		},
		.dp = dp,
		.sas = linked_list_create(),
		.lost = linked_list_create(),
		.mutex = mutex_create(MUTEX_TYPE_DEFAULT),
	);
	dp->add_listener(dp, &this->listener);
	return &this->public;
}
