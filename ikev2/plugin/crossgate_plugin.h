/*
 * Copyright (C) 2026 crossgate
 */

/**
 * @defgroup crossgate crossgate
 * @ingroup cplugins
 *
 * @defgroup crossgate_plugin crossgate_plugin
 * @{ @ingroup crossgate
 */

#ifndef CROSSGATE_PLUGIN_H_
#define CROSSGATE_PLUGIN_H_

#include <library.h>
#include <plugins/plugin.h>

#include "crossgate_dp.h"

typedef struct crossgate_plugin_t crossgate_plugin_t;

/**
 * Plugin handing SAs, policies and IKE datagrams to crossgate-dataplane.
 */
struct crossgate_plugin_t {

	/**
	 * implements plugin interface
	 */
	plugin_t plugin;
};

/**
 * The plugin's dataplane connection (valid while the plugin is loaded).
 */
crossgate_dp_t *crossgate_plugin_get_dp();

#endif /** CROSSGATE_PLUGIN_H_ @}*/
