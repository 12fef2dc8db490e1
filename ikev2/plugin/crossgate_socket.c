/*
 * Copyright (C) 2026 crossgate
 */

#include "crossgate_socket.h"
#include "crossgate_plugin.h"

#include <string.h>

#include <daemon.h>
#include <threading/thread.h>
#include <threading/mutex.h>
#include <threading/condvar.h>
#include <collections/linked_list.h>

/** Received datagrams queued for charon at most; more are dropped */
#define MAX_QUEUED 1024

typedef struct private_crossgate_socket_t private_crossgate_socket_t;

struct private_crossgate_socket_t {

	/** public interface */
	crossgate_socket_t public;

	/** listener on the dataplane connection */
	crossgate_dp_listener_t listener;

	/** dataplane connection */
	crossgate_dp_t *dp;

	/** IKE port (charon.port) */
	uint16_t port;

	/** NAT-T port (charon.port_nat_t) */
	uint16_t natt;

	/** received packet_t, for receive() */
	linked_list_t *queue;

	/** protects queue */
	mutex_t *mutex;

	/** signals a queued packet */
	condvar_t *condvar;

	/** datagrams dropped because the queue was full */
	uint64_t dropped;
};

/**
 * The socket a listener is embedded in
 */
static private_crossgate_socket_t *from_listener(crossgate_dp_listener_t *listener)
{
	return (private_crossgate_socket_t*)((char*)listener -
									offsetof(private_crossgate_socket_t, listener));
}

METHOD(socket_t, receive, status_t,
	private_crossgate_socket_t *this, packet_t **out)
{
	packet_t *packet;
	bool oldstate;

	this->mutex->lock(this->mutex);
	thread_cleanup_push((thread_cleanup_t)this->mutex->unlock, this->mutex);
	thread_cancellation_point();
	while (this->queue->remove_first(this->queue, (void**)&packet) != SUCCESS)
	{
		oldstate = thread_cancelability(TRUE);
		this->condvar->wait(this->condvar, this->mutex);
		thread_cancelability(oldstate);
	}
	thread_cleanup_pop(TRUE);

	DBG2(DBG_NET, "[crossgate] received packet: from %#H to %#H",
		 packet->get_source(packet), packet->get_destination(packet));
	*out = packet;
	return SUCCESS;
}

METHOD(socket_t, sender, status_t,
	private_crossgate_socket_t *this, packet_t *packet)
{
	struct cg_dp_ike ike = {};
	host_t *src, *dst;
	chunk_t data, msg;
	bool sent;

	src = packet->get_source(packet);
	dst = packet->get_destination(packet);
	data = packet->get_data(packet);

	if (src && !src->is_anyaddr(src))
	{	/* otherwise family 0: the dataplane picks the source address */
		crossgate_dp_addr_from_host(&ike.local, src);
	}
	crossgate_dp_addr_from_host(&ike.remote, dst);
	/* source port 0 or the IKE port: the IKE port, otherwise the NAT-T port */
	ike.local.port = (src && src->get_port(src) == this->natt) ? this->natt : this->port;
	ike.dscp = packet->get_dscp(packet);
	ike.payload_len = data.len;

	DBG2(DBG_NET, "[crossgate] sending packet: from %#H to %#H", src, dst);
	msg = chunk_cat("cc", chunk_from_thing(ike), data);
	sent = this->dp->send(this->dp, CG_DP_IKE_TX, msg);
	chunk_free(&msg);
	if (!sent)
	{
		DBG1(DBG_NET, "[crossgate] sending packet to %#H failed: dataplane not "
			 "connected", dst);
		return FAILED;
	}
	return SUCCESS;
}

METHOD(socket_t, get_port, uint16_t,
	private_crossgate_socket_t *this, bool nat_t)
{
	return nat_t ? this->natt : this->port;
}

METHOD(socket_t, supported_families, socket_family_t,
	private_crossgate_socket_t *this)
{
	return SOCKET_FAMILY_BOTH;
}

/**
 * Queue IKE_RX datagrams for receive()
 */
static void on_event(crossgate_dp_listener_t *listener, uint16_t type, chunk_t body)
{
	private_crossgate_socket_t *this = from_listener(listener);
	struct cg_dp_ike ike;
	host_t *src, *dst;
	packet_t *packet;

	if (type != CG_DP_EV_IKE_RX)
	{
		return;
	}
	if (body.len < sizeof(ike))
	{
		DBG1(DBG_NET, "[crossgate] truncated IKE datagram from the dataplane");
		return;
	}
	memcpy(&ike, body.ptr, sizeof(ike));
	body = chunk_skip(body, sizeof(ike));
	if (ike.payload_len != body.len)
	{
		DBG1(DBG_NET, "[crossgate] IKE datagram length %u does not match the "
			 "message (%zu bytes)", ike.payload_len, body.len);
		return;
	}
	src = crossgate_dp_addr_to_host(&ike.remote);
	dst = crossgate_dp_addr_to_host(&ike.local);
	if (!src || !dst)
	{
		DBG1(DBG_NET, "[crossgate] IKE datagram with an invalid address");
		DESTROY_IF(src);
		DESTROY_IF(dst);
		return;
	}
	packet = packet_create_from_data(src, dst, chunk_clone(body));

	this->mutex->lock(this->mutex);
	if (this->queue->get_count(this->queue) >= MAX_QUEUED)
	{
		if (this->dropped++ % 1000 == 0)
		{
			DBG1(DBG_NET, "[crossgate] receive queue full, dropped %llu datagrams",
				 (unsigned long long)this->dropped);
		}
		packet->destroy(packet);
	}
	else
	{
		this->queue->insert_last(this->queue, packet);
		this->condvar->signal(this->condvar);
	}
	this->mutex->unlock(this->mutex);
}

METHOD(socket_t, destroy, void,
	private_crossgate_socket_t *this)
{
	this->dp->remove_listener(this->dp, &this->listener);
	this->queue->destroy_offset(this->queue, offsetof(packet_t, destroy));
	this->condvar->destroy(this->condvar);
	this->mutex->destroy(this->mutex);
	free(this);
}

/*
 * Described in header
 */
crossgate_socket_t *crossgate_socket_create()
{
	private_crossgate_socket_t *this;
	crossgate_dp_t *dp = crossgate_plugin_get_dp();

	if (!dp)
	{
		return NULL;
	}
	INIT(this,
		.public = {
			.socket = {
				.send = _sender,
				.receive = _receive,
				.get_port = _get_port,
				.supported_families = _supported_families,
				.destroy = _destroy,
			},
		},
		.listener = {
			.event = on_event,
		},
		.dp = dp,
		.port = lib->settings->get_int(lib->settings, "%s.port",
									   CHARON_UDP_PORT, lib->ns),
		.natt = lib->settings->get_int(lib->settings, "%s.port_nat_t",
									   CHARON_NATT_PORT, lib->ns),
		.queue = linked_list_create(),
		.mutex = mutex_create(MUTEX_TYPE_DEFAULT),
		.condvar = condvar_create(CONDVAR_TYPE_DEFAULT),
	);
	if (!this->port || !this->natt || this->port == this->natt)
	{
		DBG1(DBG_NET, "[crossgate] charon.port (%u) and charon.port_nat_t (%u) must "
			 "be distinct and non-zero", this->port, this->natt);
		destroy(this);
		return NULL;
	}
	dp->add_listener(dp, &this->listener);
	return &this->public;
}
