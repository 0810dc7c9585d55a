// Keeps dustctl_core a valid library until the ctl's sources land.
namespace dust::ctl {
int PlaceholderSymbol() { return 0; }
}  // namespace dust::ctl
