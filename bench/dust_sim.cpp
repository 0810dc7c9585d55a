// dust-sim: placeholder until the engine lands (issue 4).
#include <cstdio>

int main() {
  std::fprintf(stderr, "dust-sim: the simulator is not built yet\n");
  return 1;
}
