#include "notify.h"

#ifdef DUST_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include <cstdint>

namespace dust::daemon {

Notifier::Notifier() {
#ifdef DUST_HAVE_SYSTEMD
  uint64_t usec = 0;
  // Checks WATCHDOG_PID too; unset_environment = 0 so a re-exec keeps it.
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    m_watchdog_interval = std::chrono::milliseconds(usec / 2000);
    if (m_watchdog_interval.count() == 0) m_watchdog_interval = std::chrono::milliseconds(1);
  }
#endif
}

void Notifier::Ready(const std::string& status) {
#ifdef DUST_HAVE_SYSTEMD
  sd_notifyf(0, "READY=1\nSTATUS=%s", status.c_str());
#else
  (void)status;
#endif
}

void Notifier::Status(const std::string& status) {
#ifdef DUST_HAVE_SYSTEMD
  sd_notifyf(0, "STATUS=%s", status.c_str());
#else
  (void)status;
#endif
}

void Notifier::Watchdog() {
#ifdef DUST_HAVE_SYSTEMD
  sd_notify(0, "WATCHDOG=1");
#endif
}

void Notifier::Stopping(const std::string& status) {
#ifdef DUST_HAVE_SYSTEMD
  sd_notifyf(0, "STOPPING=1\nSTATUS=%s", status.c_str());
#else
  (void)status;
#endif
}

}  // namespace dust::daemon
