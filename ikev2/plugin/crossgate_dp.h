/*
 * Copyright (C) 2026 crossgate
 *
 * Connection of the crossgate plugin to crossgate-dataplane (dp_proto.h): an AF_UNIX
 * SOCK_SEQPACKET client with HELLO, synchronous request/reply matched by req_id, one reader
 * thread that dispatches replies and events, and reconnection with backoff.
 */

/**
 * @defgroup crossgate_dp crossgate_dp
 * @{ @ingroup crossgate
 */

#ifndef CROSSGATE_DP_H_
#define CROSSGATE_DP_H_

#include <library.h>

#include <crossgate/dataplane/dp_proto.h>

typedef struct crossgate_dp_t crossgate_dp_t;
typedef struct crossgate_dp_listener_t crossgate_dp_listener_t;

/**
 * Receives events and connection state changes, called from the reader thread.
 */
struct crossgate_dp_listener_t {

	/**
	 * An event message arrived (CG_DP_EV_*).
	 *
	 * @param type		message type
	 * @param body		message body after the header (points into a reused buffer)
	 */
	void (*event)(crossgate_dp_listener_t *this, uint16_t type, chunk_t body);

	/**
	 * The connection was (re-)established and HELLO succeeded.
	 */
	void (*connected)(crossgate_dp_listener_t *this);

	/**
	 * The connection was lost; every SA and policy in the dataplane is gone.
	 */
	void (*disconnected)(crossgate_dp_listener_t *this);
};

/**
 * The dataplane connection.
 */
struct crossgate_dp_t {

	/**
	 * Send a request and wait for its reply.
	 *
	 * The request buffer is wiped after sending (it may carry keys).
	 *
	 * @param type		request type (CG_DP_HELLO .. CG_DP_FLUSH)
	 * @param body		request body
	 * @param reply		reply body on success (allocated, may be NULL)
	 * @param err		errno value the dataplane answered with (may be NULL)
	 * @return			SUCCESS; NOT_FOUND for ENOENT; FAILED for other errors, timeouts
	 *					and while not connected
	 */
	status_t (*request)(crossgate_dp_t *this, uint16_t type, chunk_t body,
						chunk_t *reply, int *err);

	/**
	 * Send a message that has no reply (CG_DP_IKE_TX).
	 *
	 * @return			TRUE if sent
	 */
	bool (*send)(crossgate_dp_t *this, uint16_t type, chunk_t body);

	/**
	 * Number of successful connections so far; changes when the dataplane's state is lost.
	 */
	u_int (*get_generation)(crossgate_dp_t *this);

	/**
	 * Register a listener.
	 */
	void (*add_listener)(crossgate_dp_t *this, crossgate_dp_listener_t *listener);

	/**
	 * Unregister a listener.
	 */
	void (*remove_listener)(crossgate_dp_t *this, crossgate_dp_listener_t *listener);

	/**
	 * Start the reader thread (connects in the background).
	 */
	void (*start)(crossgate_dp_t *this);

	/**
	 * Stop the reader thread, close the connection and free everything.
	 */
	void (*destroy)(crossgate_dp_t *this);
};

/**
 * Create the connection object; nothing happens before start().
 *
 * @param path		socket path of the dataplane
 * @param timeout	request timeout in ms
 */
crossgate_dp_t *crossgate_dp_create(char *path, u_int timeout);

/**
 * Convert a host_t to the wire address (port included).
 */
void crossgate_dp_addr_from_host(struct cg_dp_addr *addr, host_t *host);

/**
 * Convert a wire address to a host_t (port included), NULL if invalid.
 */
host_t *crossgate_dp_addr_to_host(const struct cg_dp_addr *addr);

#endif /** CROSSGATE_DP_H_ @}*/
