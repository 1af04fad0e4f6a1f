/*
 * tls-floor: the least a mail TLS endpoint on OpenSSL can do per connection.
 *
 * A reference for scripts/bench-peers, not a server to deploy: one thread, one
 * epoll loop, one SSL_CTX prepared like MailEdge's (same ciphers, groups and
 * options, tickets with OpenSSL's built-in keys, no session cache, one TLS 1.3
 * ticket), and a protocol layer that only knows what the benchmark client sends:
 * SMTP EHLO/STARTTLS/QUIT, IMAP CAPABILITY/STARTTLS/LOGOUT, POP3 CAPA/STLS/QUIT.
 * No configuration, logging, certificate choice, limits or timeouts. Its CPU time
 * per handshake is what OpenSSL and the kernel cost on this machine; a real
 * server's figure minus this one is the server's own work.
 *
 * usage: tls-floor --cert CRT --key KEY --ciphers LIST --suites LIST --groups LIST
 *                  [--implicit PORT] [--smtp PORT] [--imap PORT] [--pop3 PORT]
 * Listens on 127.0.0.1 only. Stops on SIGTERM/SIGINT.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum proto { P_IMPLICIT, P_SMTP, P_IMAP, P_POP3, P_COUNT };
enum state { S_PLAIN, S_HANDSHAKE, S_TLS };

struct listener { int fd; enum proto proto; };

struct conn {
    int fd;
    enum proto proto;
    enum state state;
    SSL *ssl;
    unsigned events;  /* what epoll watches for now */
    int inlen;
    char in[1024];
};

static SSL_CTX *ctx;
static int ep;
static volatile sig_atomic_t stopping;

static void die(const char *what) {
    fprintf(stderr, "tls-floor: %s: %s\n", what, errno ? strerror(errno) : "");
    ERR_print_errors_fp(stderr);
    exit(1);
}

static void on_signal(int sig) { (void)sig; stopping = 1; }

static void close_conn(struct conn *c) {
    if (c->ssl) {
        if (c->state == S_TLS) SSL_shutdown(c->ssl); /* one non-blocking try at close_notify */
        SSL_free(c->ssl);
    }
    close(c->fd); /* also removes it from the epoll set */
    free(c);
}

static void watch(struct conn *c, unsigned events) {
    if (c->events == events) return;
    c->events = events;
    struct epoll_event ev = { .events = events, .data.ptr = c };
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) die("epoll_ctl MOD");
}

/* Writes a short reply in plaintext or over TLS; 0 when it could not all go out. */
static int reply(struct conn *c, const char *text) {
    int n = (int)strlen(text);
    if (c->state == S_TLS) return SSL_write(c->ssl, text, n) == n;
    return send(c->fd, text, (size_t)n, MSG_NOSIGNAL) == n;
}

static const char *greeting(enum proto p) {
    switch (p) {
    case P_IMAP: return "* OK [CAPABILITY IMAP4rev1 STARTTLS] tls-floor ready\r\n";
    case P_POP3: return "+OK tls-floor ready\r\n";
    default: return "220 bench.mailedge.test ESMTP tls-floor\r\n";
    }
}

static int starts(const char *line, const char *word) {
    return strncasecmp(line, word, strlen(word)) == 0;
}

enum verdict { V_CONTINUE, V_STARTTLS, V_CLOSE };

/* One command line (without CRLF); answers it and says what happens next. */
static enum verdict command(struct conn *c, char *line) {
    char buf[256];
    int tls = c->state == S_TLS;
    switch (c->proto) {
    case P_IMPLICIT:
    case P_SMTP:
        if (starts(line, "EHLO") || starts(line, "HELO"))
            return reply(c, tls ? "250-bench.mailedge.test\r\n250 8BITMIME\r\n"
                                : "250-bench.mailedge.test\r\n250 STARTTLS\r\n") ? V_CONTINUE : V_CLOSE;
        if (!tls && c->proto == P_SMTP && strcasecmp(line, "STARTTLS") == 0)
            return reply(c, "220 2.0.0 Ready to start TLS\r\n") ? V_STARTTLS : V_CLOSE;
        if (strcasecmp(line, "QUIT") == 0) { reply(c, "221 2.0.0 Bye\r\n"); return V_CLOSE; }
        return reply(c, "502 5.5.2 Command not recognized\r\n") ? V_CONTINUE : V_CLOSE;
    case P_IMAP: {
        char *space = strchr(line, ' ');
        if (!space || space == line || space - line > 64) return reply(c, "* BAD missing tag\r\n") ? V_CONTINUE : V_CLOSE;
        *space = 0;
        const char *tag = line, *verb = space + 1;
        if (!tls && strcasecmp(verb, "STARTTLS") == 0) {
            snprintf(buf, sizeof buf, "%.64s OK Begin TLS negotiation now\r\n", tag);
            return reply(c, buf) ? V_STARTTLS : V_CLOSE;
        }
        if (strcasecmp(verb, "CAPABILITY") == 0) {
            snprintf(buf, sizeof buf, "* CAPABILITY IMAP4rev1%s\r\n%.64s OK CAPABILITY completed\r\n", tls ? "" : " STARTTLS", tag);
            return reply(c, buf) ? V_CONTINUE : V_CLOSE;
        }
        if (strcasecmp(verb, "LOGOUT") == 0) {
            snprintf(buf, sizeof buf, "* BYE\r\n%.64s OK LOGOUT completed\r\n", tag);
            reply(c, buf);
            return V_CLOSE;
        }
        snprintf(buf, sizeof buf, "%.64s BAD unknown command\r\n", tag);
        return reply(c, buf) ? V_CONTINUE : V_CLOSE;
    }
    case P_POP3:
        if (!tls && strcasecmp(line, "STLS") == 0) return reply(c, "+OK Begin TLS negotiation\r\n") ? V_STARTTLS : V_CLOSE;
        if (strcasecmp(line, "CAPA") == 0) return reply(c, tls ? "+OK\r\nUSER\r\n.\r\n" : "+OK\r\nSTLS\r\n.\r\n") ? V_CONTINUE : V_CLOSE;
        if (strcasecmp(line, "QUIT") == 0) { reply(c, "+OK bye\r\n"); return V_CLOSE; }
        return reply(c, "-ERR unknown command\r\n") ? V_CONTINUE : V_CLOSE;
    default:
        return V_CLOSE;
    }
}

/* Runs the complete lines in the input buffer. */
static enum verdict lines(struct conn *c) {
    for (;;) {
        char *nl = memchr(c->in, '\n', (size_t)c->inlen);
        if (!nl) {
            if (c->inlen == (int)sizeof c->in) { reply(c, c->proto == P_POP3 ? "-ERR line too long\r\n" : c->proto == P_IMAP ? "* BAD line too long\r\n" : "500 5.5.2 Line too long\r\n"); return V_CLOSE; }
            return V_CONTINUE;
        }
        int used = (int)(nl - c->in) + 1;
        *nl = 0;
        if (nl > c->in && nl[-1] == '\r') nl[-1] = 0;
        enum verdict v = command(c, c->in);
        memmove(c->in, c->in + used, (size_t)(c->inlen - used));
        c->inlen -= used;
        if (v == V_STARTTLS && c->inlen > 0) {  /* plaintext after STARTTLS: a command injection attempt */
            return V_CLOSE;
        }
        if (v != V_CONTINUE) return v;
    }
}

static int begin_tls(struct conn *c) {
    c->ssl = SSL_new(ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) return 0;
    SSL_set_accept_state(c->ssl);
    c->state = S_HANDSHAKE;
    return 1;
}

/* After an SSL call that did not complete: 1 = wait for the socket OpenSSL asked
 * for, 0 = the connection is finished (closed, or a TLS error). */
static int wait_for_tls(struct conn *c, int rc) {
    int err = SSL_get_error(c->ssl, rc);
    if (err == SSL_ERROR_WANT_READ) { watch(c, EPOLLIN); return 1; }
    if (err == SSL_ERROR_WANT_WRITE) { watch(c, EPOLLOUT); return 1; }
    ERR_clear_error();
    return 0;
}

/* Makes all the progress the socket allows. 0 = the connection is finished. */
static int advance(struct conn *c) {
    for (;;) {
        if (c->state == S_PLAIN) {
            ssize_t n = recv(c->fd, c->in + c->inlen, sizeof c->in - (size_t)c->inlen, 0);
            if (n == 0) return 0;
            if (n < 0) return errno == EAGAIN || errno == EINTR;
            c->inlen += (int)n;
            enum verdict v = lines(c);
            if (v == V_CLOSE) return 0;
            if (v == V_STARTTLS && !begin_tls(c)) return 0;
            continue;
        }
        if (c->state == S_HANDSHAKE) {
            int rc = SSL_do_handshake(c->ssl);
            if (rc == 1) {
                c->state = S_TLS;
                if (c->proto == P_IMPLICIT && !reply(c, greeting(P_IMPLICIT))) return 0;
                continue;
            }
            return wait_for_tls(c, rc);
        }
        int n = SSL_read(c->ssl, c->in + c->inlen, (int)sizeof c->in - c->inlen);
        if (n > 0) {
            c->inlen += n;
            if (lines(c) != V_CONTINUE) return 0;
            continue;
        }
        return wait_for_tls(c, n);
    }
}

static void accept_all(struct listener *l) {
    for (;;) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;  /* EAGAIN, or a transient error: the next event retries */
        struct conn *c = calloc(1, sizeof *c);
        if (!c) { close(fd); continue; }
        c->fd = fd;
        c->proto = l->proto;
        c->events = EPOLLIN;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) { close(fd); free(c); continue; }
        if (l->proto == P_IMPLICIT) {
            if (!begin_tls(c) || !advance(c)) close_conn(c);
        } else if (!reply(c, greeting(l->proto))) {
            close_conn(c);
        }
    }
}

static int listen_on(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0) die("socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  /* inherited by accepted sockets */
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) die("bind");
    if (listen(fd, 1024) != 0) die("listen");
    return fd;
}

int main(int argc, char **argv) {
    const char *cert = NULL, *key = NULL, *ciphers = NULL, *suites = NULL, *groups = NULL;
    int ports[P_COUNT] = { 0 };
    static const struct option opts[] = {
        { "cert", 1, 0, 'c' }, { "key", 1, 0, 'k' }, { "ciphers", 1, 0, 'C' }, { "suites", 1, 0, 'S' },
        { "groups", 1, 0, 'g' }, { "implicit", 1, 0, 'i' }, { "smtp", 1, 0, 's' }, { "imap", 1, 0, 'm' },
        { "pop3", 1, 0, 'p' }, { 0, 0, 0, 0 } };
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'c': cert = optarg; break;
        case 'k': key = optarg; break;
        case 'C': ciphers = optarg; break;
        case 'S': suites = optarg; break;
        case 'g': groups = optarg; break;
        case 'i': ports[P_IMPLICIT] = atoi(optarg); break;
        case 's': ports[P_SMTP] = atoi(optarg); break;
        case 'm': ports[P_IMAP] = atoi(optarg); break;
        case 'p': ports[P_POP3] = atoi(optarg); break;
        default: fprintf(stderr, "usage: see the comment at the top of tls-floor.c\n"); return 2;
        }
    }
    if (!cert || !key || !ciphers || !suites || !groups) { fprintf(stderr, "tls-floor: --cert, --key, --ciphers, --suites and --groups are required\n"); return 2; }

    ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) die("SSL_CTX_new");
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1) die("--ciphers");
    if (SSL_CTX_set_ciphersuites(ctx, suites) != 1) die("--suites");
    if (SSL_CTX_set1_groups_list(ctx, groups) != 1) die("--groups");
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN);
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 1);
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"tls-floor", 9);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) die(cert);
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) die(key);
    if (SSL_CTX_check_private_key(ctx) != 1) die("certificate and key do not match");

    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    static struct listener ls[P_COUNT];
    int any = 0;
    for (int p = 0; p < P_COUNT; p++) {
        if (!ports[p]) continue;
        ls[p].fd = listen_on(ports[p]);
        ls[p].proto = (enum proto)p;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &ls[p] };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, ls[p].fd, &ev) != 0) die("epoll_ctl ADD");
        any = 1;
    }
    if (!any) { fprintf(stderr, "tls-floor: no port given\n"); return 2; }
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct epoll_event evs[64];
    while (!stopping) {
        int n = epoll_wait(ep, evs, 64, -1);
        if (n < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
        for (int i = 0; i < n; i++) {
            void *ptr = evs[i].data.ptr;
            if (ptr >= (void *)ls && ptr < (void *)(ls + P_COUNT)) { accept_all(ptr); continue; }
            struct conn *c = ptr;
            if (!advance(c)) close_conn(c);
        }
    }
    SSL_CTX_free(ctx);
    return 0;
}
