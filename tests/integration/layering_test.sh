#!/bin/bash
# The dependency rules of docs/architecture.md that a grep can check: libdust (the sans-I/O
# core shared by dustd and dust-sim) never includes Asio, spdlog, sockets, threads or clocks.
# The arrows between libdust's layers are checked by the compiler instead (tests/layering: a
# layer that includes a header of a layer above or beside it does not build).
# Usage: layering_test.sh [BUILD_DIR]   (the build directory is not needed)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)

forbidden='#include <(boost/asio|asio|spdlog|sys/socket\.h|netinet/|arpa/|netdb\.h|thread|pthread\.h|mutex|condition_variable|future|chrono|ctime|time\.h|sys/time\.h)|system_clock|steady_clock|clock_gettime|gettimeofday|(std::|[^a-z_.>])time\(|[^a-z_.>]clock\(\)'

# The patterns must catch what they are meant to catch (a check that cannot fail is no check).
for sample in '#include <boost/asio.hpp>' '#include <spdlog/spdlog.h>' '#include <sys/socket.h>' \
  '#include <thread>' '#include <chrono>' '#include <time.h>' '#include <pthread.h>' \
  'auto t = std::chrono::steady_clock::now();' 'time_t t = time(nullptr);' \
  'long c = ::time(0);' 'clock_t c = clock();'; do
  grep -qE "$forbidden" <<<"$sample" || { echo "FAIL: the pattern misses: $sample" >&2; exit 1; }
done

rc=0
if hits=$(grep -rnE "$forbidden" "$SRC/libdust"); then
  echo "FAIL: libdust must stay free of I/O, threads and clocks (docs/architecture.md):" >&2
  echo "$hits" >&2
  rc=1
fi
[ $rc -eq 0 ] && echo "layering: libdust is free of I/O, threads and clocks"
exit $rc
