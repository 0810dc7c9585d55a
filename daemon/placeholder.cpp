// Keeps dustd_core a valid library until the daemon's sources land.
namespace dust::daemon {
int PlaceholderSymbol() { return 0; }
}  // namespace dust::daemon
