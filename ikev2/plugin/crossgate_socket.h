/*
 * Copyright (C) 2026 crossgate
 */

/**
 * @defgroup crossgate_socket crossgate_socket
 * @{ @ingroup crossgate
 */

#ifndef CROSSGATE_SOCKET_H_
#define CROSSGATE_SOCKET_H_

#include <library.h>
#include <network/socket.h>

typedef struct crossgate_socket_t crossgate_socket_t;

/**
 * socket_t relaying IKE datagrams through crossgate-dataplane, which owns UDP 500 and 4500.
 */
struct crossgate_socket_t {

	/**
	 * Implements socket_t interface
	 */
	socket_t socket;
};

/**
 * Create the socket (uses the plugin's dataplane connection).
 */
crossgate_socket_t *crossgate_socket_create();

#endif /** CROSSGATE_SOCKET_H_ @}*/
