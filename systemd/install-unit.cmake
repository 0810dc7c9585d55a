# Runs at install time (from cmake_install.cmake), where CMAKE_INSTALL_PREFIX is the prefix of
# this installation: `cmake --install --prefix`, or /usr under cpack. Installs dustd.service
# with its two paths adjusted to that prefix (unchanged for /usr).
#
# In: DUST_UNIT_SOURCE, DUST_UNIT_STAGING (a writable directory in the build tree),
#     DUST_UNIT_DESTINATION (absolute), DUST_SBINDIR (relative to the prefix, or absolute).
include("${CMAKE_CURRENT_LIST_DIR}/../cmake/DustInstallPaths.cmake")
dust_install_sysconfdir(etc_dir)
if(IS_ABSOLUTE "${DUST_SBINDIR}")
  set(sbin_dir "${DUST_SBINDIR}")
else()
  set(sbin_dir "${CMAKE_INSTALL_PREFIX}/${DUST_SBINDIR}")
endif()

file(READ "${DUST_UNIT_SOURCE}" unit)
string(REPLACE "ExecStart=/usr/sbin/dustd --config /etc/dust/dustd.conf"
               "ExecStart=${sbin_dir}/dustd --config ${etc_dir}/dust/dustd.conf" adjusted "${unit}")
if(adjusted STREQUAL unit AND NOT (sbin_dir STREQUAL "/usr/sbin" AND etc_dir STREQUAL "/etc"))
  message(FATAL_ERROR "install-unit.cmake: ${DUST_UNIT_SOURCE} has no ExecStart line to adjust")
endif()
file(MAKE_DIRECTORY "${DUST_UNIT_STAGING}")
file(WRITE "${DUST_UNIT_STAGING}/dustd.service" "${adjusted}")
file(INSTALL DESTINATION "${DUST_UNIT_DESTINATION}" TYPE FILE
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
     FILES "${DUST_UNIT_STAGING}/dustd.service")
