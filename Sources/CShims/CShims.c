#include "CShims.h"
#include <openssl/evp.h>
#include <sys/auxv.h>

int cshim_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) { return (int)SSL_CTX_set_min_proto_version(ctx, version); }
int cshim_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) { return (int)SSL_CTX_set_max_proto_version(ctx, version); }
int cshim_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *list) { return (int)SSL_CTX_set1_groups_list(ctx, list); }
long cshim_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
long cshim_SSL_CTX_set_dh_auto(SSL_CTX *ctx, int onoff) { return SSL_CTX_set_dh_auto(ctx, onoff); }
long cshim_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_session_cache_mode(ctx, mode); }
long cshim_SSL_CTX_set_tlsext_servername_callback(SSL_CTX *ctx, int (*cb)(SSL *, int *, void *)) { return SSL_CTX_set_tlsext_servername_callback(ctx, cb); }
int cshim_sk_SSL_CIPHER_num(const STACK_OF(SSL_CIPHER) *sk) { return sk_SSL_CIPHER_num(sk); }
const SSL_CIPHER *cshim_sk_SSL_CIPHER_value(const STACK_OF(SSL_CIPHER) *sk, int i) { return sk_SSL_CIPHER_value(sk, i); }
int cshim_sk_X509_num(const STACK_OF(X509) *sk) { return sk_X509_num(sk); }
X509 *cshim_sk_X509_value(const STACK_OF(X509) *sk, int i) { return sk_X509_value(sk, i); }
EVP_PKEY *cshim_EVP_RSA_gen(unsigned int bits) { return EVP_RSA_gen(bits); }
EVP_PKEY *cshim_EVP_EC_gen(const char *curve) { return EVP_EC_gen(curve); }
void cshim_X509V3_set_ctx_nodb(X509V3_CTX *ctx) { X509V3_set_ctx_nodb(ctx); }
void cshim_OPENSSL_free(void *p) { OPENSSL_free(p); }
const uint64_t cshim_SSL_OP_NO_COMPRESSION = SSL_OP_NO_COMPRESSION;
const uint64_t cshim_SSL_OP_NO_RENEGOTIATION = SSL_OP_NO_RENEGOTIATION;
const uint64_t cshim_SSL_OP_CIPHER_SERVER_PREFERENCE = SSL_OP_CIPHER_SERVER_PREFERENCE;
const uint64_t cshim_SSL_OP_NO_TICKET = SSL_OP_NO_TICKET;
const long cshim_SSL_MODE_RELEASE_BUFFERS = SSL_MODE_RELEASE_BUFFERS;
const long cshim_SSL_MODE_ENABLE_PARTIAL_WRITE = SSL_MODE_ENABLE_PARTIAL_WRITE;
const long cshim_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER = SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
const long cshim_SSL_MODE_NO_AUTO_CHAIN = SSL_MODE_NO_AUTO_CHAIN;
const long cshim_SSL_SESS_CACHE_SERVER = SSL_SESS_CACHE_SERVER;
const long cshim_SSL_SESS_CACHE_OFF = SSL_SESS_CACHE_OFF;
struct event *cshim_evtimer_new(struct event_base *base, event_callback_fn cb, void *arg) { return evtimer_new(base, cb, arg); }
const unsigned long cshim_XN_FLAG_RFC2253 = XN_FLAG_RFC2253;
int cshim_at_secure(void) { return getauxval(AT_SECURE) != 0; }
