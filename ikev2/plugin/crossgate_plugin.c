/*
 * Copyright (C) 2026 crossgate
 */

#include "crossgate_plugin.h"
#include "crossgate_ipsec.h"
#include "crossgate_socket.h"

#include <daemon.h>

/** Default request timeout, ms */
#define DEFAULT_TIMEOUT 5000

typedef struct private_crossgate_plugin_t private_crossgate_plugin_t;

struct private_crossgate_plugin_t {

	/**
	 * implements plugin interface
	 */
	crossgate_plugin_t public;

	/**
	 * dataplane connection
	 */
	crossgate_dp_t *dp;
};

/**
 * The single instance, for the feature constructors (they get no arguments)
 */
static private_crossgate_plugin_t *instance;

/*
 * Described in header
 */
crossgate_dp_t *crossgate_plugin_get_dp()
{
	return instance ? instance->dp : NULL;
}

METHOD(plugin_t, get_name, char*,
	private_crossgate_plugin_t *this)
{
	return "crossgate";
}

METHOD(plugin_t, get_features, int,
	private_crossgate_plugin_t *this, plugin_feature_t *features[])
{
	static plugin_feature_t f[] = {
		PLUGIN_CALLBACK(kernel_ipsec_register, crossgate_ipsec_create),
			PLUGIN_PROVIDE(CUSTOM, "kernel-ipsec"),
		PLUGIN_CALLBACK(socket_register, crossgate_socket_create),
			PLUGIN_PROVIDE(CUSTOM, "socket"),
				PLUGIN_SDEPEND(CUSTOM, "kernel-ipsec"),
	};
	*features = f;
	return countof(f);
}

METHOD(plugin_t, destroy, void,
	private_crossgate_plugin_t *this)
{
	this->dp->destroy(this->dp);
	instance = NULL;
	free(this);
}

/*
 * See header
 */
plugin_t *crossgate_plugin_create()
{
	private_crossgate_plugin_t *this;
	char *path;
	u_int timeout;

	if (instance)
	{
		DBG1(DBG_KNL, "[crossgate] plugin loaded twice");
		return NULL;
	}
	path = lib->settings->get_str(lib->settings, "%s.plugins.crossgate.socket",
								  CG_DP_SOCKET_PATH, lib->ns);
	timeout = lib->settings->get_int(lib->settings, "%s.plugins.crossgate.timeout",
									 DEFAULT_TIMEOUT, lib->ns);
	INIT(this,
		.public = {
			.plugin = {
				.get_name = _get_name,
				.get_features = _get_features,
				.destroy = _destroy,
			},
		},
		.dp = crossgate_dp_create(path, timeout),
	);
	instance = this;
	DBG1(DBG_KNL, "[crossgate] using dataplane socket %s", path);
	this->dp->start(this->dp);
	return &this->public.plugin;
}
