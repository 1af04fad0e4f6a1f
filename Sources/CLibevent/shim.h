#ifndef MAILEDGE_CLIBEVENT_H
#define MAILEDGE_CLIBEVENT_H
// libevent's event-config.h defines _GNU_SOURCE; pulling <sys/types.h> in first
// keeps fd_set identical to the definition the OpenSSL module sees.
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <event2/listener.h>
#include <event2/util.h>
#endif
