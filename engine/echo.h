/* SPDX-License-Identifier: MIT */
/*
 * echo.h — the bundled test actor TS_ECHO_TYPE ("thespis.Echo",
 * thespis/thespis.h): answers every message but system messages with the
 * same type and payload, to its sender.
 */
#ifndef TS_ENGINE_ECHO_H
#define TS_ENGINE_ECHO_H

/* Registers TS_ECHO_TYPE, once per process: when the library loads (and
 * ts_system_open calls it too, so that a static link has it); later calls
 * return the first one's result. A multiproc node's shard processes
 * inherit it. 0 or the error of ts_register_actor_type. */
int echo_register(void);

#endif
