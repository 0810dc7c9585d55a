# Install-time path helpers, for scripts that run from cmake_install.cmake (where
# CMAKE_INSTALL_PREFIX is the prefix of this installation, which may differ from the one the
# build tree was configured with: `cmake --install --prefix P`, or cpack's /usr).

# <out> = the system configuration directory for this installation, absolute: /etc for the
# /usr prefix (as GNUInstallDirs decides for CMAKE_INSTALL_FULL_SYSCONFDIR; never /usr/etc),
# <prefix>/etc otherwise (/usr/local/etc, /opt/x/etc).
function(dust_install_sysconfdir out)
  if(CMAKE_INSTALL_PREFIX STREQUAL "/usr" OR CMAKE_INSTALL_PREFIX STREQUAL "/usr/")
    set(${out} "/etc" PARENT_SCOPE)
  else()
    set(${out} "${CMAKE_INSTALL_PREFIX}/etc" PARENT_SCOPE)
  endif()
endfunction()
