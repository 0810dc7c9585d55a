/* Raw libsodium Ed25519 verify rate on this machine, for message lengths from 0 to a full
 * datagram's signed region, with nothing of ours in the loop: the ceiling `dust-bench ingest`
 * compares the receive path against (docs/benchmarks.md, "Ingest").
 *   cc -O2 bench/sodium_verify.c -lsodium -o /tmp/sodium_verify && /tmp/sodium_verify */
#include <sodium.h>
#include <stdio.h>
#include <time.h>

static double cpu_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(void) {
  if (sodium_init() < 0) return 1;
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  unsigned char sig[crypto_sign_BYTES], msg[1388];
  crypto_sign_keypair(pk, sk);
  randombytes_buf(msg, sizeof msg);
  const size_t lengths[] = {0, 64, 256, sizeof msg};
  const int n = 20000;
  printf("libsodium %s\n", sodium_version_string());
  for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; ++i) {
    crypto_sign_detached(sig, NULL, msg, lengths[i], sk);
    int ok = 0;
    const double start = cpu_seconds();
    for (int k = 0; k < n; ++k) ok += crypto_sign_verify_detached(sig, msg, lengths[i], pk) == 0;
    const double took = cpu_seconds() - start;
    printf("message %4zu bytes: %.0f verifies per CPU second (%d of %d valid)\n", lengths[i],
           n / took, ok, n);
  }
  return 0;
}
