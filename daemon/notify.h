// sd_notify(3) for Type=notify services: READY, STATUS, WATCHDOG, STOPPING. Without libsystemd
// (DUST_HAVE_SYSTEMD undefined) or outside systemd (no $NOTIFY_SOCKET) every call is a no-op.
#pragma once

#include <chrono>
#include <string>

namespace dust::daemon {

class Notifier {
 public:
  Notifier();

  void Ready(const std::string& status);
  void Status(const std::string& status);
  void Watchdog();
  void Stopping(const std::string& status);

  // How often to ping the watchdog: half of $WATCHDOG_USEC (for our pid), or zero if the
  // watchdog is not enabled.
  std::chrono::milliseconds watchdog_interval() const { return m_watchdog_interval; }

 private:
  std::chrono::milliseconds m_watchdog_interval{0};
};

}  // namespace dust::daemon
