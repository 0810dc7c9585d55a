// dustctl: placeholder until the control tool lands (issue 6).
#include <cstdio>

int main() {
  std::fprintf(stderr, "dustctl: not built yet\n");
  return 1;
}
