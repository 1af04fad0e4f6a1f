#ifndef MAILEDGE_CSHIMS_H
#define MAILEDGE_CSHIMS_H
// One-line wrappers for OpenSSL and libevent macros and cast-built constants that
// Swift cannot import. No logic lives here (see CONVENTIONS.md).
#include <sys/types.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <event2/event.h>

// SSL_CTX_set_min/max_proto_version are SSL_CTX_ctrl macros.
int cshim_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version);
int cshim_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version);
// SSL_CTX_set1_groups_list is an SSL_CTX_ctrl macro.
int cshim_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *list);
// SSL_CTX_set_mode is an SSL_CTX_ctrl macro.
long cshim_SSL_CTX_set_mode(SSL_CTX *ctx, long mode);
// SSL_CTX_set_dh_auto is an SSL_CTX_ctrl macro.
long cshim_SSL_CTX_set_dh_auto(SSL_CTX *ctx, int onoff);
// SSL_CTX_set_session_cache_mode is an SSL_CTX_ctrl macro.
long cshim_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode);
// SSL_CTX_set_tlsext_servername_callback is an SSL_CTX_callback_ctrl macro.
long cshim_SSL_CTX_set_tlsext_servername_callback(SSL_CTX *ctx, int (*cb)(SSL *, int *, void *));
// sk_SSL_CIPHER_num / sk_SSL_CIPHER_value are type-safe stack macros.
int cshim_sk_SSL_CIPHER_num(const STACK_OF(SSL_CIPHER) *sk);
const SSL_CIPHER *cshim_sk_SSL_CIPHER_value(const STACK_OF(SSL_CIPHER) *sk, int i);
// sk_X509_num / sk_X509_value / sk_X509_new_null / sk_X509_push / sk_X509_pop_free are stack macros.
int cshim_sk_X509_num(const STACK_OF(X509) *sk);
X509 *cshim_sk_X509_value(const STACK_OF(X509) *sk, int i);
// EVP_RSA_gen is a macro over the variadic EVP_PKEY_Q_keygen, which Swift cannot call.
EVP_PKEY *cshim_EVP_RSA_gen(unsigned int bits);
// EVP_EC_gen is a macro over the variadic EVP_PKEY_Q_keygen.
EVP_PKEY *cshim_EVP_EC_gen(const char *curve);
// X509V3_set_ctx_nodb is a field-assignment macro.
void cshim_X509V3_set_ctx_nodb(X509V3_CTX *ctx);
// OPENSSL_free is a macro carrying file/line.
void cshim_OPENSSL_free(void *p);
// SSL_OP_* constants are built from casts.
extern const uint64_t cshim_SSL_OP_NO_COMPRESSION;
extern const uint64_t cshim_SSL_OP_NO_RENEGOTIATION;
extern const uint64_t cshim_SSL_OP_CIPHER_SERVER_PREFERENCE;
extern const uint64_t cshim_SSL_OP_NO_TICKET;
extern const long cshim_SSL_MODE_RELEASE_BUFFERS;
extern const long cshim_SSL_MODE_ENABLE_PARTIAL_WRITE;
extern const long cshim_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
extern const long cshim_SSL_MODE_NO_AUTO_CHAIN;
// XN_FLAG_RFC2253 is built from casts and ors.
extern const unsigned long cshim_XN_FLAG_RFC2253;
extern const long cshim_SSL_SESS_CACHE_SERVER;
extern const long cshim_SSL_SESS_CACHE_OFF;
// evtimer_new / evtimer_add / evsignal_new are macros over event_new / event_add.
struct event *cshim_evtimer_new(struct event_base *base, event_callback_fn cb, void *arg);
// getauxval(AT_SECURE): glibc's secure mode (setuid, file capabilities); <sys/auxv.h>
// is not in Swift's Glibc module.
int cshim_at_secure(void);
#endif
