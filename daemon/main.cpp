// dustd: placeholder until the daemon lands (issue 5).
#include <cstdio>

int main() {
  std::fprintf(stderr, "dustd: the daemon is not built yet\n");
  return 1;
}
